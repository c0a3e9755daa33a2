"""Previews (预览): a version's preview PDF and first-page thumbnail, made once in the
workers, stored encrypted as renditions (``archive.models.Rendition``) and destroyed with
the document.

Office documents become a PDF through LibreOffice (``render.prepare``: own profile, no
network, killed on timeout); counting pages, drawing page 1 and turning an image into a
PDF scaled to fit run in one sandboxed child (``render.make_preview``). A PDF is its own
preview (no copy). A failure is recorded with its reason class and never raised; the
hourly repair (:func:`repair`) queues versions without renditions and retries the failures
that may pass. Reading a preview is ``archive.reading.read_rendition``.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.models import Document, DocumentStatus, DocumentVersion, Rendition
from archive_service.archive.vocabulary import RENDITION_KINDS, THUMBNAIL
from archive_service.audit.services import Actor, record
from archive_service.db import Database, utcnow
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault
from archive_service.viewing import render
from archive_service.viewing.later import previews_later
from archive_service.viewing.workspace import Workspace

log = logging.getLogger(__name__)
SYSTEM = Actor.system("previews")
MADE, FAILED = "made", "failed"
ERROR = "error"  # anything unexpected (the object store away, a bug): tried again
RETRYABLE = frozenset({render.BUSY, render.TIMEOUT, ERROR})
MAX_ATTEMPTS = 3
REPAIR_BATCH = 200


def make_previews(db: Database, workspace: Workspace, document_id: int) -> str:
    """Make the current version's preview and thumbnail unless made; returns the outcome
    (made, failed, cached, gone). The plaintext lives only in a private folder of the temp
    area while it is rendered; nothing is raised for a file that cannot be shown."""
    with db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None or doc.status == DocumentStatus.DESTROYED or not doc.versions:
            return "gone"
        version = doc.current_version
        assert version is not None
        rows = _rows(s, version.id)
        if all(k in rows and rows[k].status == MADE for k in RENDITION_KINDS):
            return "cached"
        obj = s.get(StoredObject, version.stored_object_id)
        assert obj is not None
        content_type, version_id = version.content_type, version.id
    if content_type not in render.RENDERABLE:
        failure = render.RenderError(
            f"files of type {content_type} have no preview", render.UNSUPPORTED
        )
        return _store(db, workspace.vault, document_id, version_id, failure)
    folder = _work_folder(workspace, version_id)
    try:
        made: render.Preview | render.RenderError
        try:
            made = _render(workspace, obj, content_type, folder)
        except render.RenderError as exc:
            made = exc
        except Exception as exc:  # noqa: BLE001 - recorded, and retried by the repair
            log.exception("making the preview of document %s failed unexpectedly", document_id)
            made = render.RenderError(f"unexpected error ({type(exc).__name__})", ERROR)
        return _store(db, workspace.vault, document_id, version_id, made)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _work_folder(workspace: Workspace, version_id: int) -> Path:
    root = workspace.root / "previews"
    for level in (workspace.root, root):
        level.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"v{version_id}-", dir=root))  # 0700


def _render(
    workspace: Workspace, obj: StoredObject, content_type: str, folder: Path
) -> render.Preview:
    plain = folder / "original"
    with plain.open("wb") as out:
        for chunk in workspace.vault.open(obj):
            out.write(chunk)
    prepared = render.prepare(plain, content_type, folder, timeout=workspace.render_timeout)
    return render.make_preview(prepared, content_type, folder)


def renditions_of(session: Session, doc: Document) -> dict[str, Rendition]:
    """The current version's renditions by kind (what the document page says of them)."""
    version = doc.current_version
    return {} if version is None else _rows(session, version.id)


def _rows(session: Session, version_id: int) -> dict[str, Rendition]:
    found = session.execute(select(Rendition).where(Rendition.version_id == version_id))
    return {r.kind: r for r in found.scalars()}


def _store(
    db: Database,
    vault: Vault,
    document_id: int,
    version_id: int,
    made: render.Preview | render.RenderError,
) -> str:
    """Keep what was made (or why not) under the document's row lock: a document destroyed
    meanwhile keeps nothing, and a rendition made by another run meanwhile is kept."""
    with db.unit_of_work() as s:
        s.execute(select(Document.id).where(Document.id == document_id).with_for_update())
        doc = s.get(Document, document_id, populate_existing=True)
        version = s.get(DocumentVersion, version_id)
        if doc is None or doc.status == DocumentStatus.DESTROYED or version is None:
            return "gone"
        rows = _rows(s, version_id)
        for kind in RENDITION_KINDS:
            row = rows.get(kind)
            if row is not None and row.status == MADE:
                continue
            if row is None:
                row = Rendition(document_id=document_id, version_id=version_id, kind=kind)
                row.attempts = 0
                s.add(row)
            row.attempts = (row.attempts or 0) + 1
            row.made_at = utcnow()
            if isinstance(made, render.RenderError):
                row.status, row.reason, row.error = FAILED, made.reason, str(made)[:300]
                row.stored_object_id, row.shares_original = None, False
                continue
            row.status, row.reason, row.error, row.pages = MADE, None, None, made.pages
            if kind == THUMBNAIL:
                row.stored_object_id = vault.put(s, io.BytesIO(made.thumbnail)).id
                row.shares_original, row.width, row.height = False, made.width, made.height
            elif version.content_type == "application/pdf":
                row.stored_object_id, row.shares_original = version.stored_object_id, True
            else:
                assert made.pdf is not None
                with made.pdf.open("rb") as pdf:
                    row.stored_object_id = vault.put(s, pdf).id
                row.shares_original = False
        outcome = FAILED if isinstance(made, render.RenderError) else MADE
        record(
            s,
            SYSTEM,
            "document.previews",
            "document",
            document_id,
            version=version.number,
            outcome=outcome,
            reason=made.reason if isinstance(made, render.RenderError) else None,
            pages=None if isinstance(made, render.RenderError) else made.pages,
        )
    if isinstance(made, render.RenderError):
        # Id and reason class only: the message may quote the file.
        log.warning("the preview of document %s failed: %s", document_id, made.reason)
    return outcome


def due(session: Session, limit: int = REPAIR_BATCH) -> list[int]:
    """Live documents whose current version has no preview yet, or one whose failure may
    pass (retried at most MAX_ATTEMPTS times)."""
    current = {
        doc_id: version_id
        for doc_id, version_id in session.execute(
            select(DocumentVersion.document_id, DocumentVersion.id)
            .join(Document, Document.id == DocumentVersion.document_id)
            .where(Document.status != DocumentStatus.DESTROYED)
            .order_by(DocumentVersion.number)
        ).all()
    }  # the last version of each document wins
    rows: dict[int, list[Rendition]] = {}
    for r in session.execute(
        select(Rendition)
        .join(Document, Document.id == Rendition.document_id)
        .where(Document.status != DocumentStatus.DESTROYED)
    ).scalars():
        rows.setdefault(r.version_id, []).append(r)
    wanted = []
    for doc_id, version_id in sorted(current.items()):
        have = rows.get(version_id, [])
        retry = any(
            r.status == FAILED and r.reason in RETRYABLE and r.attempts < MAX_ATTEMPTS for r in have
        )
        if len(have) < len(RENDITION_KINDS) or retry:
            wanted.append(doc_id)
    return wanted[:limit]


def repair(db: Database) -> list[int]:
    """Hourly: queue the documents :func:`due` finds (a lost job, or one made before
    previews existed, heals here)."""
    with db.unit_of_work() as s:
        ids = due(s)
        if ids:
            record(s, SYSTEM, "previews.repair", "document", None, documents=len(ids))
            previews_later(s, ids)
    return ids
