"""The destruction list (销毁清册) of a completed destruction in its standard layout: one row
per document — 序号, 档号, 题名, 形成时间, 保管期限, 已保管时间, 销毁时间, 备注 — then who
applied, approved, carried it out and witnessed it (监销人), where and how. As XLSX or PDF
(``archive_service.tables``), headers and words in Chinese and English.

The rows come from the signed record's items and the documents' tombstones, which keep
their dates and retention class after the content is gone. Exporting is audited like the
record's export; only a completed destruction has a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import tables
from archive_service.accounts.vocabulary import ROLES
from archive_service.approvals import STEP_STATUSES
from archive_service.archive.models import Document
from archive_service.archive.retention import RetentionRules
from archive_service.archive.vocabulary import RETENTION_CLASSES
from archive_service.audit.services import record
from archive_service.disposal.models import Destruction
from archive_service.disposal.reviews import one
from archive_service.disposal.vocabulary import ITEM_RESULTS, DestructionStatus, ItemResult
from archive_service.errors import Conflict
from archive_service.policy import Caller
from archive_service.vocabulary import _t, chinese

FORMATS = ("pdf", "xlsx")
COLUMNS = (
    _t("destruction list", "No."),
    _t("destruction list", "Archive number"),
    _t("destruction list", "Title"),
    _t("destruction list", "Formed on"),
    _t("destruction list", "Retention period"),
    _t("destruction list", "Time kept"),
    _t("destruction list", "Destroyed at"),
    _t("destruction list", "Remarks"),
)
TITLE = _t("destruction list", "Destruction list")
KEPT = _t("destruction list", "%(years)d years %(months)d months")
APPLICANT = _t("destruction list", "Applicant")
APPROVAL = _t("destruction list", "Approval")
EXECUTOR = _t("destruction list", "Executor")
SUPERVISOR = _t("destruction list", "Supervisor (witness)")
PLACE_AND_METHOD = _t("destruction list", "Place and method")
RECORD = _t("destruction list", "Signed destruction record")
# The method the service itself uses; a method an archivist typed is shown as written.
CRYPTOGRAPHIC_ERASE = _t("destruction method", "cryptographic erase")


@dataclass(frozen=True)
class DestructionList:
    destruction: Destruction
    title: str
    header: list[str]
    rows: list[list[Any]]
    footer: list[str]


def _kept(filed: date | None, destroyed: datetime | None) -> str:
    """Whole years and months from filing to destruction, in both languages."""
    if filed is None or destroyed is None:
        return "—"
    end = destroyed.date()
    months = (end.year - filed.year) * 12 + end.month - filed.month - (end.day < filed.day)
    years, months = divmod(max(months, 0), 12)
    values = {"years": years, "months": months}
    return f"{chinese(KEPT) % values} {KEPT.english % values}"


def period(rules: RetentionRules, retention_class: str | None) -> str:
    term = RETENTION_CLASSES.get(retention_class)
    if term is None or retention_class is None:
        return retention_class or "—"
    return f"{rules.code(retention_class)} {tables.both(term.label)}"


def destruction_list(
    session: Session, by: Caller, rules: RetentionRules, destruction_id: int, fmt: str
) -> DestructionList:
    """The list of a completed destruction the caller may read (audited with the format)."""
    dest = one(session, by, "destruction.read", Destruction, destruction_id)
    if dest.status != DestructionStatus.COMPLETED:
        raise Conflict(f"destruction is {dest.status}; the list exists once it completes")
    ids = [i.document_id for i in dest.items]
    docs = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(ids)))}
    rows: list[list[Any]] = []
    for n, item in enumerate(dest.items, start=1):
        doc = docs.get(item.document_id)
        result = ITEM_RESULTS.get(item.result)
        done = item.result in (ItemResult.DESTROYED, ItemResult.KEYS_DESTROYED)
        rows.append(
            [
                n,
                item.archive_number or "—",
                item.title,
                doc.document_date.isoformat() if doc and doc.document_date else "—",
                period(rules, doc.retention_class if doc else None),
                _kept(doc.filing_date if doc else None, item.done_at if done else None),
                tables.utc(item.done_at) if done else "—",
                ""
                if item.result == ItemResult.DESTROYED or not result
                else tables.both(result.label),
            ]
        )
    record(session, by.actor, "destruction.list_export", "destruction", dest.id, format=fmt)
    return DestructionList(
        destruction=dest,
        title=f"{tables.both(TITLE)} #{dest.id} · {tables.utc(dest.completed_at)}",
        header=[tables.both(c) for c in COLUMNS],
        rows=rows,
        footer=_footer(dest),
    )


def _footer(dest: Destruction) -> list[str]:
    lines = [f"{tables.both(APPLICANT)}: {tables.person(dest.applicant)}"]
    for step in dest.steps:
        role, status = ROLES.get(step.role), STEP_STATUSES.get(step.status)
        lines.append(
            f"{tables.both(APPROVAL)}: {tables.both(role.label) if role else step.role} · "
            f"{tables.person(step.decided_by)} · {tables.utc(step.decided_at)} · "
            f"{tables.both(status.label) if status else step.status}"
        )
    method = dest.method
    if method == CRYPTOGRAPHIC_ERASE.english:
        method = tables.both(CRYPTOGRAPHIC_ERASE)
    lines += [
        f"{tables.both(EXECUTOR)}: {tables.person(dest.executor)}",
        f"{tables.both(SUPERVISOR)}: {tables.person(dest.supervisor)}",
        f"{tables.both(PLACE_AND_METHOD)}: {dest.place or '—'} · {method}",
        f"{tables.both(RECORD)}: #{dest.id} · Ed25519 · {dest.signing_key_id or '—'}",
    ]
    return lines


def render(listed: DestructionList, fmt: str) -> tuple[bytes, str, str]:
    """The file, its content type and its name."""
    name = f"destruction-list-{listed.destruction.id}.{fmt}"
    parts = (listed.title, listed.header, listed.rows, listed.footer)
    if fmt == "pdf":
        return tables.pdf("destruction list", *parts), "application/pdf", name
    return tables.xlsx("destruction list", *parts), tables.XLSX, name
