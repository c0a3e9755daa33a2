"""Who runs the half-yearly special audit (专项审计抽查): auditors draw samples and read
them; the auditor a sampling is assigned to works through it and closes it. While it is
open, that auditor reads the sampled customers' documents (metadata and page images, never
the file), each reading registered with the audit as its purpose: the document read rules
of :mod:`archive_service.policy.archive` ask :func:`audit_reading` here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive_service.policy.core import Decision, any_role, rule
from archive_service.sampling import coverage
from archive_service.sampling.vocabulary import REGISTER_PURPOSE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archive_service.accounts.models import User

AUDITORS = ("auditor",)
AUDIT_RULE = "audit-sample"

rule("sampling.draw")(any_role(*AUDITORS, rule_name="auditor-only", what="draw audit samples"))
rule("sampling.read")(any_role(*AUDITORS, rule_name="auditor-only", what="read audit samplings"))


@rule("sampling.work")
def work_sampling(user: User, sampling: Any) -> Decision:
    """The checklist, findings and closing: the auditor the sampling is assigned to."""
    if "auditor" not in user.roles:
        return Decision(False, "auditor-only", "only auditors work through audit samples")
    if sampling is not None and sampling.auditor_id != user.id:
        return Decision(False, "assigned-auditor", "this sampling is assigned to another auditor")
    return Decision(True, "assigned-auditor")


def audit_reading(session: Session, user: User, document: Any, mode: str | None) -> Decision | None:
    """An auditor's way to a document of a customer an open sampling of theirs drew: the
    metadata and the content as page images (``mode`` None), never the file. None when no
    open sampling of theirs covers it (the other rules decide)."""
    if "auditor" not in user.roles:
        return None
    sampling_id = coverage.open_sampling_of(session, user.id, document.customer_id)
    if sampling_id is None:
        return None
    if mode == "download":
        return Decision(
            False,
            "audit-view-only",
            "the audit shows documents as page images, never as the file",
        )
    return Decision(True, AUDIT_RULE, purpose=REGISTER_PURPOSE.format(id=sampling_id))
