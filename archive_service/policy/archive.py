"""Who sees a customer's archive and its documents, and who changes them.

Its own department's clerks and heads, archivists, and managers (whose every reading is
registered with a purpose) see an archive without an application. Admins see no content
(separation of duties). A live grant (the access area) widens this for approved
applications, and an open audit sampling for its auditor (``policy.sampling``), here and
nowhere else; :mod:`archive_service.policy.visibility` states the
same rule as filters for lists and search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive_service.access import coverage
from archive_service.accounts.vocabulary import EXTERNAL_ROLE
from archive_service.archive.vocabulary import DocumentStatus
from archive_service.policy.core import Decision, any_role, covers, rule, same_department
from archive_service.policy.sampling import audit_reading

if TYPE_CHECKING:
    from archive_service.accounts.models import User

# Refusals that name a document the caller already knows of (they held a grant, or it
# was shown to them in a session): these say why rather than pretend it does not exist.
KNOWN_TO_CALLER = frozenset(
    {"grant-expired", "grant-revoked", "grant-view-only", "supervised-only"}
)


def own_access(user: User, customer: Any) -> Decision | None:
    """Access without an application: archivists, managers, the owning department."""
    if "archivist" in user.roles:
        return Decision(True, "archivist")
    if "manager" in user.roles:
        return Decision(True, "manager-registered")
    if user.has_role("clerk", "department_head") and same_department(user, customer.department_id):
        return Decision(True, "own-department")
    return None


def _session_of(obj: Any) -> Any:
    from sqlalchemy.orm import object_session

    return object_session(obj)


@rule("customer.view")
def sees_customer(user: User, customer: Any) -> Decision:
    own = own_access(user, customer)
    if own is not None:
        return own
    if EXTERNAL_ROLE in user.roles:
        return Decision(False, "supervised-only", "external viewers see no customer records")
    session = _session_of(customer)
    if session is not None and coverage.has_grant_on_customer(session, user.id, customer.id):
        return Decision(True, "grant")
    return Decision(
        False, "customer-visibility", "this customer's archive belongs to another department"
    )


def _document_by_grant(user: User, document: Any, mode: str | None) -> Decision:
    own = own_access(user, document.customer)
    if own is not None:
        return own
    session = _session_of(document)
    if session is None:
        return Decision(False, "no-grant", "no approved application covers this document")
    grant = coverage.grant_covering(session, user.id, document, mode)
    if grant is not None and EXTERNAL_ROLE in user.roles:
        if document.status != DocumentStatus.ACCEPTED:
            # Never in a session of theirs (sessions show accepted documents only).
            return Decision(False, "no-grant", "no approved application covers this document")
        # External viewers never get a document through the ordinary routes: only as
        # watermarked pages inside a supervised session (archive_service.viewing).
        return Decision(
            False,
            "supervised-only",
            "external viewers see documents only in a session their supervisor opens",
        )
    if grant is not None:
        return Decision(True, "grant", grant_id=grant.id)
    audit = audit_reading(session, user, document, mode)
    if audit is not None:
        return audit
    if mode == "download" and coverage.grant_covering(session, user.id, document, None):
        return Decision(
            False,
            "grant-view-only",
            "the grant is for viewing: the document is shown as page images, never as the file",
        )
    ended = coverage.ended_grant_covering(session, user.id, document)
    if ended is not None:
        # They know the document exists: say why it is closed rather than hide it.
        state = "revoked" if ended.status == "revoked" else "expired"
        return Decision(False, f"grant-{state}", f"the grant for this document was {state}")
    return Decision(False, "no-grant", "no approved application covers this document")


@rule("customer.personal")
def personal_details(user: User, customer: Any) -> Decision:
    """Identity numbers and contact details (``archive.customers.PERSONAL_FIELDS``), wherever
    they appear — the record, change requests and their evidence, forms: the customer's own
    people only. A grant shows the customer's name and the documents it covers, never these."""
    own = own_access(user, customer)
    if own is not None:
        return own
    return Decision(
        False,
        "personal-details",
        "identity numbers and contact details are shown to the customer's own department only",
    )


@rule("customer.list")
def _list_customers(user: User, _target: Any) -> Decision:
    """The customers page: for those who may see some archive without an application."""
    if user.has_role("clerk", "department_head", "archivist", "manager"):
        return Decision(True, "archive-staff")
    return Decision(False, "archive-staff", "only archive staff list customers")


@rule("customer.create")
def _create_customer(user: User, department_id: int | None) -> Decision:
    """Clerks open archives for their own department's customers; archivists for any.
    Without a department: may the caller open an archive at all?"""
    if "archivist" in user.roles:
        return Decision(True, "archivist")
    if "clerk" in user.roles and (department_id is None or same_department(user, department_id)):
        return Decision(True, "own-department-clerk")
    return Decision(
        False, "own-department-clerk", "clerks open archives for their own department's customers"
    )


@rule("document.upload")
def _upload(user: User, customer: Any) -> Decision:
    if "clerk" in user.roles and same_department(user, customer.department_id):
        return Decision(True, "own-department-clerk")
    return Decision(
        False, "own-department-clerk", "only clerks of the owning department upload documents"
    )


@rule("document.view")
def _view_document(user: User, document: Any) -> Decision:
    """Metadata: the customer's own people, or a grant covering the document."""
    return _document_by_grant(user, document, None)


@rule("document.read")
def _read_document(user: User, document: Any) -> Decision:
    """The content in some form — for a view-only reader as server-rendered page images
    (``viewing.page_views``); registered in the access register."""
    return _document_by_grant(user, document, None)


@rule("document.download")
def _download_document(user: User, document: Any) -> Decision:
    """The original bytes, downloaded or previewed inline: like reading, but a grant must be
    for ``download``.

    A reader is *view-only* when this refuses what ``document.read`` allows: their only way
    to the document is a grant in mode ``view`` (no download grant covers it, and they are
    neither of the owning department's clerks and heads, nor an archivist or a manager, who
    all keep the original). View-only readers get watermarked page images, never the file.
    """
    return _document_by_grant(user, document, "download")


@rule("document.search")
def _search(user: User, _target: Any) -> Decision:
    """The search page: staff who may find documents (external viewers look only in
    their sessions; admins and auditors see no content)."""
    if EXTERNAL_ROLE not in user.roles and user.has_role(
        "clerk", "department_head", "archivist", "manager", "requester", "operations_head", "leader"
    ):
        return Decision(True, "staff")
    return Decision(False, "staff", "only staff search the archive")


rule("document.review")(
    any_role("archivist", rule_name="archivist-only", what="accept or return documents")
)
rule("document.hold")(
    any_role("archivist", "operations_head", rule_name="hold-keeper", what="place or release holds")
)
rule("import.run")(
    any_role("archivist", rule_name="archivist-only", what="import an existing archive")
)
# An archivist's import (the web page) uploads the documents of the customers it names,
# in any department, as the operator's import at the console does; opening a customer
# (customer.create), acceptance (document.review) and a core customer's second review
# stay their own rules.
covers("import.run", "document.upload")
rule("hold.read")(
    any_role("archivist", "operations_head", rule_name="hold-keeper", what="read hold cases")
)
rule("category.manage")(any_role("admin", rule_name="admin-only", what="change the category tree"))
rule("fonds.manage")(any_role("admin", rule_name="admin-only", what="add a fonds"))
rule("search.manage")(
    any_role("admin", "archivist", rule_name="index-keeper", what="re-queue text extraction")
)
rule("checks.export")(
    any_role(
        "archivist",
        "auditor",
        rule_name="check-list-readers",
        what="export a customer's check list",
    )
)
# Filing timeliness (归档及时性, archive.timeliness): who was late filing, per department and
# clerk. Archivists, auditors and the operations head read every department's; a
# department head reads their own department's.
TIMELINESS_ALL = ("archivist", "auditor", "operations_head")
rule("timeliness.read")(
    any_role(
        *TIMELINESS_ALL,
        "department_head",
        rule_name="timeliness-readers",
        what="read filing timeliness",
    )
)
rule("timeliness.all")(
    any_role(
        *TIMELINESS_ALL,
        rule_name="timeliness-all-departments",
        what="read every department's filing timeliness",
    )
)
