"""Check use cases: run the 四性检测 of a version (after submission, from a task; again as it is
accepted), gate acceptance on the mandatory items, read a document's report, list a
customer's reports, and fill in reports that are missing (the beat repair job).

The decrypted file exists only in the private temp area for the time the limited child
reads it; the parsers run in that child (:mod:`search.fileprobe`). Audit events carry
counts and outcomes, never text.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from archive_service.archive import intake
from archive_service.archive.documents import get_document
from archive_service.archive.models import (
    ArchiveNumber,
    Customer,
    Document,
    DocumentStatus,
    DocumentVersion,
    NumberCounter,
)
from archive_service.archive.settings import ArchiveSettings
from archive_service.audit.services import Actor, record
from archive_service.checks import rules
from archive_service.checks.models import CheckReport
from archive_service.checks.vocabulary import CHECK_ITEMS, Stage
from archive_service.db import Database, release_read_transaction, utcnow
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.notifications import events
from archive_service.notifications.vocabulary import Kind
from archive_service.policy import Caller, require
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault
from archive_service.vocabulary import chinese
from search.fileprobe import Probe, probe

log = logging.getLogger(__name__)
SYSTEM = Actor.system("checker")
# Items the structural probe decides: at acceptance they are taken from the submission's
# report of the same version (the same bytes, as the digest check confirms again).
PROBED = frozenset(
    {
        "signatures",
        "whole",
        "not_encrypted",
        "fonts",
        "macros",
        "executables",
        "active_content",
        "attachments",
    }
)
MAX_SERIES = 10_000


@dataclass(frozen=True)
class Checking:
    """What the check use cases work with."""

    db: Database
    vault: Vault
    temp_dir: Path
    archive: ArchiveSettings
    timeout: int = 60
    memory_mb: int = 1024


class ChecksFailed(Conflict):
    """Acceptance refused: mandatory check items failed (409); ``failed`` names each with
    its words in Chinese and English."""

    code = "checks_failed"


# --------------------------------------------------------------------------- gathering


@dataclass(frozen=True)
class _Examined:
    digest: str | None
    read_error: str | None
    sniffed: str | None
    sniff_error: str | None
    probe: Probe


def _examine(ck: Checking, obj: StoredObject, filename: str, *, parse: bool = True) -> _Examined:
    """Decrypt the object into the temp area (hashing it), sniff its type as intake does,
    and — with ``parse`` — probe its structure in the limited child."""
    digest = read_error = sniffed = sniff_error = None
    found = Probe(error="the stored object could not be read")
    ck.temp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=ck.temp_dir, prefix="check-") as plain:
        sha = hashlib.sha256()
        head = b""
        try:
            for chunk in ck.vault.open(obj):
                if len(head) < intake.SNIFF_BYTES:
                    head += chunk[: intake.SNIFF_BYTES - len(head)]
                sha.update(chunk)
                plain.write(chunk)
            plain.flush()
            digest = sha.hexdigest()
        except Exception as exc:  # noqa: BLE001 - a damaged or erased object fails the item
            read_error = type(exc).__name__
        if digest is not None:
            try:
                sniffed = intake.sniff(head, filename, frozenset(intake.ALLOWED)).content_type
            except intake.Refused as exc:
                sniff_error = exc.message
            found = (
                probe(plain.name, timeout=ck.timeout, memory_mb=ck.memory_mb)
                if parse
                else Probe(parsed=True)
            )
    return _Examined(digest, read_error, sniffed, sniff_error, found)


def _missing_metadata(doc: Document, version: DocumentVersion) -> tuple[str, ...]:
    missing = [
        name
        for name, value in (
            ("title", doc.title),
            ("category", doc.category_id),
            ("retention_class", doc.retention_class),
            ("customer", doc.customer_id),
            ("filename", version.filename),
        )
        if value in (None, "")
    ]
    for spec in doc.category.facts or []:
        if spec.get("required") and (doc.facts or {}).get(spec["name"]) in (None, ""):
            missing.append(spec["name"])
    return tuple(missing)


def _facts(
    doc: Document, version: DocumentVersion, seen: _Examined, settings: ArchiveSettings
) -> rules.Facts:
    return rules.Facts(
        stored_digest=version.sha256,
        digest=seen.digest,
        read_error=seen.read_error,
        declared_type=version.content_type,
        sniffed_type=seen.sniffed,
        sniff_error=seen.sniff_error,
        allowed=version.content_type in settings.intake.allowed_types,
        missing_metadata=_missing_metadata(doc, version),
        probe=seen.probe,
        extraction=doc.extraction,
        extraction_error=doc.extraction_error,
        has_text=doc.text_object_id is not None,
    )


def _store(
    session: Session,
    actor: Actor,
    doc: Document,
    version: DocumentVersion,
    stage: str,
    results: list[dict[str, Any]],
    *,
    override_reason: str | None = None,
    override_by: int | None = None,
) -> CheckReport:
    """Write (or replace) the report of ``version`` at ``stage`` and audit the run."""
    report = report_of(session, version.id, stage)
    if report is None:
        report = CheckReport(document_id=doc.id, version_id=version.id, stage=stage)
        session.add(report)
    failed = rules.blocking(results)
    report.results = results
    report.passed = not failed
    report.checked_at = utcnow()
    report.override_reason = override_reason
    report.override_by_id = override_by
    session.flush()
    _audit_run(session, actor, doc, version, stage, results, overridden=override_reason is not None)
    return report


def _audit_run(
    session: Session,
    actor: Actor,
    doc: Document,
    version: DocumentVersion,
    stage: str,
    results: list[dict[str, Any]],
    **outcome: Any,
) -> None:
    """One check run in the audit trail: counts and outcome, never text."""
    failed = rules.blocking(results)
    record(
        session,
        actor,
        "document.checks",
        "document",
        doc.id,
        version=version.number,
        stage=stage,
        items=len(results),
        failed=sum(not r["passed"] for r in results),
        mandatory_failed=failed,
        passed=not failed,
        **outcome,
    )


def report_of(session: Session, version_id: int, stage: str) -> CheckReport | None:
    return session.execute(
        select(CheckReport).where(CheckReport.version_id == version_id, CheckReport.stage == stage)
    ).scalar_one_or_none()


# --------------------------------------------------------------------------- submission


def check_submitted(ck: Checking, document_id: int) -> str:
    """The submission checks of a document's current version (the task's body): passed,
    failed, gone or stale. The file is read with no transaction open."""
    with ck.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None or doc.status == DocumentStatus.DESTROYED or not doc.versions:
            return "gone"
        version = doc.current_version
        assert version is not None
        obj = s.get(StoredObject, version.stored_object_id)
        assert obj is not None
        version_id, filename = version.id, version.filename
    seen = _examine(ck, obj, filename)
    with ck.db.unit_of_work() as s:
        doc = s.get(Document, document_id, populate_existing=True)
        if doc is None or doc.status == DocumentStatus.DESTROYED:
            return "gone"
        version = doc.current_version
        if version is None or version.id != version_id:
            return "stale"
        results = [r.as_dict() for r in rules.evaluate(_facts(doc, version, seen, ck.archive))]
        report = _store(s, SYSTEM, doc, version, Stage.SUBMITTED, results)
        if not report.passed:
            events.to_roles(s, Kind.CHECK_FAILURE, ("archivist", "auditor"), f"/documents/{doc.id}")
        return "passed" if report.passed else "failed"


def repair(ck: Checking, limit: int = 200) -> list[int]:
    """Documents whose current version has no submission report (uploaded before checks
    existed, or a lost message): checked now. Returns their ids."""
    with ck.db.unit_of_work() as s:
        newest = (
            select(DocumentVersion.document_id, func.max(DocumentVersion.number).label("number"))
            .group_by(DocumentVersion.document_id)
            .subquery()
        )
        reported = select(CheckReport.version_id).where(CheckReport.stage == Stage.SUBMITTED)
        ids = list(
            s.execute(
                select(DocumentVersion.document_id)
                .join(
                    newest,
                    and_(
                        newest.c.document_id == DocumentVersion.document_id,
                        newest.c.number == DocumentVersion.number,
                    ),
                )
                .join(Document, Document.id == DocumentVersion.document_id)
                .where(
                    Document.status != DocumentStatus.DESTROYED,
                    DocumentVersion.id.not_in(reported),
                )
                .order_by(DocumentVersion.document_id)
                .limit(limit)
            ).scalars()
        )
    for document_id in ids:
        check_submitted(ck, document_id)
    return ids


# --------------------------------------------------------------------------- acceptance


@dataclass(frozen=True)
class Gate:
    """What acceptance checked: the results so far and the override, if one was needed."""

    version: DocumentVersion
    results: list[dict[str, Any]]
    override_reason: str | None


def gate_acceptance(
    session: Session, by: Caller, ck: Checking, doc: Document, override_reason: str | None
) -> Gate:
    """Run the acceptance checks of ``doc``'s current version; refuse (409) when a mandatory
    item fails and no override reason is given. The structural items come from the
    submission's report of the same version; without one (a document older than the
    checks, or a lost task) the whole submission check runs here first and is stored."""
    version = doc.current_version
    if version is None:
        raise Conflict("the document has no file")
    obj = session.get(StoredObject, version.stored_object_id)
    assert obj is not None
    submitted = report_of(session, version.id, Stage.SUBMITTED)
    release_read_transaction(session)  # nothing written yet: no lock while the file is read
    seen = _examine(ck, obj, version.filename, parse=submitted is None)
    facts = _facts(doc, version, seen, ck.archive)
    now = [r.as_dict() for r in rules.evaluate(facts)]
    if submitted is None:
        submitted = _store(session, by.actor, doc, version, Stage.SUBMITTED, now)
    earlier = {r["code"]: r for r in submitted.results}
    results = [
        {
            **earlier[r["code"]],
            "detail": f"at submission: {earlier[r['code']]['detail']}",
            "reused": True,
        }
        if r["code"] in PROBED and r["code"] in earlier
        else r
        for r in now
    ]
    failed = rules.blocking(results)
    reason = (override_reason or "").strip()[:1000] or None
    if failed and reason is None:
        # The refusal is a check run too: it is audited, and the report it rests on (made
        # here when the submission had none) is kept, though nothing is accepted.
        _audit_run(session, by.actor, doc, version, Stage.ACCEPTED, results, blocked=True)
        session.commit()
        raise ChecksFailed(
            "mandatory checks failed; accept with an override reason to proceed",
            failed=[_failure(r) for r in results if r["code"] in failed],
        )
    return Gate(version=version, results=results, override_reason=reason if failed else None)


def _failure(result: dict[str, Any]) -> dict[str, Any]:
    item = CHECK_ITEMS[result["code"]]
    return {
        "code": item.code,
        "group": item.group,
        "label": item.label.english,
        "label_zh": chinese(item.label),
        "detail": result["detail"],
        "detail_zh": rules.detail_in(result, chinese),
    }


def record_acceptance(
    session: Session,
    by: Caller,
    gate: Gate,
    doc: Document,
    settings: ArchiveSettings,
    number_values: dict[str, str | int],
) -> CheckReport:
    """After the number is allocated (from ``number_values``): the series item, then the
    stored acceptance report (with the override and who gave it) and its audit events."""
    gaps = _series_gaps(session, settings, number_values)
    series = rules.series(replace(_EMPTY_FACTS, series_gaps=tuple(gaps))).as_dict()
    results = [series if r["code"] == "series" else r for r in gate.results]
    report = _store(
        session,
        by.actor,
        doc,
        gate.version,
        Stage.ACCEPTED,
        results,
        override_reason=gate.override_reason,
        override_by=by.user_id if gate.override_reason else None,
    )
    if gate.override_reason:
        record(
            session,
            by.actor,
            "document.checks_override",
            "document",
            doc.id,
            version=gate.version.number,
            failed=rules.blocking(results),
            reason=gate.override_reason,
        )
    return report


_EMPTY_FACTS = rules.Facts(
    stored_digest="",
    digest=None,
    read_error=None,
    declared_type="",
    sniffed_type=None,
    sniff_error=None,
    allowed=True,
    missing_metadata=(),
    probe=Probe(),
    extraction="pending",
)


def _series_gaps(
    session: Session, settings: ArchiveSettings, values: dict[str, str | int]
) -> list[str]:
    """Gaps in the series a number of these pattern values belongs to (its scope), among
    the numbers after the part an earlier check found complete (at most ``MAX_SERIES`` at
    a time); a complete part is remembered on the counter, whose row the acceptance holds
    locked, so each acceptance looks at what is new rather than the whole series."""
    pattern = settings.number_pattern
    counter = session.get(NumberCounter, pattern.scope(values))
    if counter is None:
        return []
    first = counter.checked_through + 1 if counter.checked_through < counter.last_value else 1
    last = min(counter.last_value, first + MAX_SERIES - 1)
    expected = [pattern.render(values, n) for n in range(first, last + 1)]
    existing: set[str] = set()
    for start in range(0, len(expected), 500):
        existing.update(
            session.execute(
                select(ArchiveNumber.number).where(
                    ArchiveNumber.number.in_(expected[start : start + 500])
                )
            ).scalars()
        )
    gaps = [n for n in expected if n not in existing]  # series_gaps, rendered once
    if not gaps:
        counter.checked_through = last
    return gaps


# --------------------------------------------------------------------------- reading


def latest_report(
    session: Session, by: Caller, document_id: int
) -> tuple[CheckReport, DocumentVersion]:
    """The newest report of the document's current version (acceptance before submission),
    for whoever may see the document's metadata; 404 when none exists yet."""
    doc = get_document(session, by, document_id)
    report = newest_report(session, doc)
    if report is None or doc.current_version is None:
        raise NotFound("the document has no check report yet")
    return report, doc.current_version


def report_for_review(session: Session, doc: Document) -> CheckReport | None:
    """The report the review page shows for a submitted document (its submission's)."""
    version = doc.current_version
    return report_of(session, version.id, Stage.SUBMITTED) if version else None


def newest_report(session: Session, doc: Document) -> CheckReport | None:
    """The newest report of a document the caller has already been allowed to see."""
    version = doc.current_version
    if version is None:
        return None
    for stage in (Stage.ACCEPTED, Stage.SUBMITTED):
        report = report_of(session, version.id, stage)
        if report is not None:
            return report
    return None


@dataclass(frozen=True)
class ListedReport:
    document: Document
    version: DocumentVersion
    report: CheckReport


def customer_reports(
    session: Session, by: Caller, customer_id: int
) -> tuple[Customer, list[ListedReport]]:
    """Every check report of a customer's documents, for the check list (archivists and
    auditors: ``checks.export``). Rows carry numbers, stages and outcomes, not titles."""
    require(by, "checks.export", None)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("no such customer")
    rows = session.execute(
        select(CheckReport, Document, DocumentVersion)
        .join(Document, Document.id == CheckReport.document_id)
        .join(DocumentVersion, DocumentVersion.id == CheckReport.version_id)
        .where(Document.customer_id == customer.id)
        .order_by(Document.id, DocumentVersion.number, CheckReport.checked_at)
    ).all()
    return customer, [ListedReport(document=d, version=v, report=r) for r, d, v in rows]


def export_format(value: str | None) -> str:
    if value not in ("xlsx", "pdf"):
        raise InvalidInput("format must be xlsx or pdf", field="format")
    return value
