"""The one access check: ``may(caller, action, target) -> Decision``.

Every route and every service that reads or changes something asks here;
nothing else decides who may do what. A rule is a small function named by
what it checks, and the name travels to the 403 response so a refused user
(or an auditor) can see which rule applied. Later areas add their rules with
:func:`rule`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archive_service.audit.services import Actor
from archive_service.errors import NotAllowed, NotAuthenticated

if TYPE_CHECKING:
    from archive_service.accounts.models import User


@dataclass(frozen=True)
class Caller:
    """Who is asking: a signed-in user, an anonymous visitor, or the operator.

    The operator is the person at the server's command line (``archive …``);
    they already hold the keys to the machine, so the policy lets them act.
    """

    user: User | None
    ip: str | None = None
    operator: bool = False

    @classmethod
    def of(cls, user: User | None, ip: str | None = None) -> Caller:
        return cls(user=user, ip=ip)

    @classmethod
    def cli(cls) -> Caller:
        return cls(user=None, operator=True)

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return Actor(self.user.id, self.user.username, self.ip)
        return Actor(None, "operator" if self.operator else None, self.ip)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str = ""
    grant_id: int | None = None  # the grant that allowed it, for the access register

    def __bool__(self) -> bool:
        return self.allowed


RuleFn = Callable[["User", Any], Decision]
_RULES: dict[str, RuleFn] = {}


def rule(action: str) -> Callable[[RuleFn], RuleFn]:
    """Register the rule that decides ``action``."""

    def register(fn: RuleFn) -> RuleFn:
        if action in _RULES:
            raise ValueError(f"rule for {action!r} registered twice")
        _RULES[action] = fn
        return fn

    return register


def known_actions() -> frozenset[str]:
    return frozenset(_RULES)


def may(caller: Caller, action: str, target: Any = None) -> Decision:
    if action not in _RULES:
        # An action without a rule is a programming error: refuse, loudly.
        return Decision(False, "unknown-action", f"no rule for {action}")
    if caller.operator:
        return Decision(True, "operator")
    if caller.user is None or not caller.user.is_active_account:
        return Decision(False, "authenticated", "sign in first")
    return _RULES[action](caller.user, target)


def require(caller: Caller, action: str, target: Any = None) -> Decision:
    """Like :func:`may`, but raise: 401 when nobody is signed in, 403 otherwise."""
    decision = may(caller, action, target)
    if decision:
        return decision
    if decision.rule == "authenticated":
        raise NotAuthenticated("authentication required")
    raise NotAllowed(decision.reason or f"not allowed: {action}", rule=decision.rule)


# --- rules of the accounts area ---------------------------------------------


def _role_rule(role: str, rule_name: str, what: str) -> RuleFn:
    """A rule that allows exactly the holders of ``role``."""

    def check(user: User, _target: Any) -> Decision:
        if role in user.roles:
            return Decision(True, rule_name)
        return Decision(False, rule_name, f"only a user with the {role} role may {what}")

    return check


for _action, _what in {
    "user.create": "create accounts",
    "user.list": "list accounts",
    "user.activate": "activate accounts",
    "user.set_roles": "change roles",
    "user.close": "close accounts",
    "user.revoke_tokens": "revoke another user's tokens",
    "department.create": "create departments",
}.items():
    rule(_action)(_role_rule("admin", "admin-only", _what))

for _action, _what in {
    "audit.read": "read the audit trail",
    "audit.verify": "verify the audit trail",
}.items():
    rule(_action)(_role_rule("auditor", "auditor-only", _what))


@rule("user.approve")
def _approve_account(user: User, applicant: User) -> Decision:
    """An application is approved by an admin or the head of the applicant's department."""
    name = "account-approver"
    if applicant is not None and applicant.id == user.id:
        return Decision(False, "no-self-approval", "nobody approves their own application")
    if "admin" in user.roles:
        return Decision(True, name)
    if applicant is not None and "regulator" in (applicant.requested_roles or []):
        return Decision(False, name, "only an admin decides an external account application")
    if (
        "department_head" in user.roles
        and applicant is not None
        and applicant.department_id is not None
        and applicant.department_id == user.department_id
    ):
        return Decision(True, name)
    return Decision(
        False, name, "only an admin or the head of the applicant's department may decide"
    )


@rule("user.view_applications")
def _view_applications(user: User, _target: Any) -> Decision:
    if user.has_role("admin", "department_head"):
        return Decision(True, "account-approver")
    return Decision(False, "account-approver", "only admins and department heads")


# --- rules of the archive area -------------------------------------------------
#
# Who may see a customer's archive: its own department's clerks and heads,
# archivists, and managers (whose every reading is registered with a purpose).
# Admins see no content (separation of duties). Grants (the access area) will
# widen this for approved applications, here and nowhere else.


def _same_department(user: User, department_id: int | None) -> bool:
    return department_id is not None and user.department_id == department_id


def _own_access(user: User, customer: Any) -> Decision | None:
    """Access without an application: archivists, managers, the owning department."""
    if "archivist" in user.roles:
        return Decision(True, "archivist")
    if "manager" in user.roles:
        return Decision(True, "manager-registered")
    if user.has_role("clerk", "department_head") and _same_department(user, customer.department_id):
        return Decision(True, "own-department")
    return None


def _session_of(obj: Any) -> Any:
    from sqlalchemy.orm import object_session

    return object_session(obj)


def _sees_customer(user: User, customer: Any) -> Decision:
    own = _own_access(user, customer)
    if own is not None:
        return own
    if "regulator" in user.roles:
        return Decision(False, "supervised-only", "external viewers see no customer records")
    from archive_service.access.services import has_grant_on_customer

    session = _session_of(customer)
    if session is not None and has_grant_on_customer(session, user.id, customer.id):
        return Decision(True, "grant")
    return Decision(
        False, "customer-visibility", "this customer's archive belongs to another department"
    )


rule("customer.view")(_sees_customer)


def _document_by_grant(user: User, document: Any, mode: str | None) -> Decision:
    own = _own_access(user, document.customer)
    if own is not None:
        return own
    from archive_service.access.services import grant_covering

    session = _session_of(document)
    grant = grant_covering(session, user.id, document, mode) if session is not None else None
    if grant is not None and "regulator" in user.roles:
        # External viewers never get a document through the ordinary routes: only as
        # watermarked pages inside a supervised session (archive_service.viewing).
        return Decision(
            False,
            "supervised-only",
            "external viewers see documents only in a session their supervisor opens",
        )
    if grant is not None:
        return Decision(True, "grant", grant_id=grant.id)
    if (
        mode == "download"
        and session is not None
        and grant_covering(session, user.id, document, None)
    ):
        return Decision(False, "grant-view-only", "the grant allows viewing, not downloading")
    from archive_service.access.services import ended_grant_covering

    ended = ended_grant_covering(session, user.id, document) if session is not None else None
    if ended is not None:
        # They know the document exists: say why it is closed rather than hide it.
        state = "revoked" if ended.status == "revoked" else "expired"
        return Decision(False, f"grant-{state}", f"the grant for this document was {state}")
    return Decision(False, "no-grant", "no approved application covers this document")


KNOWN_TO_CALLER = frozenset(
    {"grant-expired", "grant-revoked", "grant-view-only", "supervised-only"}
)


@dataclass(frozen=True)
class Visibility:
    """The document-visibility rule above, as data for filters (SQL lists, the search index):
    everything, or the customers of one department plus whatever live grants of one user
    cover. Keep it in step with :func:`_own_access` and :func:`_document_by_grant`."""

    everything: bool = False
    department_id: int | None = None
    grants_of: int | None = None


def visibility(caller: Caller) -> Visibility:
    user = caller.user
    if caller.operator or (user is not None and user.has_role("archivist", "manager")):
        return Visibility(everything=True)
    if user is None or not user.is_active_account or "regulator" in user.roles:
        return Visibility()  # external viewers find nothing: they look only in sessions
    own = user.department_id if user.has_role("clerk", "department_head") else None
    return Visibility(department_id=own, grants_of=user.id)


@rule("customer.create")
def _create_customer(user: User, department_id: int | None) -> Decision:
    if "clerk" in user.roles and _same_department(user, department_id):
        return Decision(True, "own-department-clerk")
    if "archivist" in user.roles:
        return Decision(True, "archivist")
    return Decision(
        False, "own-department-clerk", "clerks open archives for their own department's customers"
    )


@rule("document.upload")
def _upload(user: User, customer: Any) -> Decision:
    if "clerk" in user.roles and _same_department(user, customer.department_id):
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
    """Content in the browser (view, preview): registered in the access register."""
    return _document_by_grant(user, document, None)


@rule("document.download")
def _download_document(user: User, document: Any) -> Decision:
    """The file itself: like reading, but a grant must be for ``download``."""
    return _document_by_grant(user, document, "download")


@rule("document.review")
def _review(user: User, _document: Any) -> Decision:
    if "archivist" in user.roles:
        return Decision(True, "archivist")
    return Decision(False, "archivist-only", "only archivists accept or return documents")


@rule("document.hold")
def _hold(user: User, _document: Any) -> Decision:
    if user.has_role("archivist", "operations_head"):
        return Decision(True, "hold-keeper")
    return Decision(
        False, "hold-keeper", "only archivists and the operations head place or release holds"
    )


@rule("category.manage")
def _categories(user: User, _target: Any) -> Decision:
    if "admin" in user.roles:
        return Decision(True, "admin-only")
    return Decision(False, "admin-only", "only admins change the category tree")


# --- rules of the access area ----------------------------------------------------


@rule("access.apply")
def _apply(user: User, _target: Any) -> Decision:
    if user.roles - {"admin", "auditor"}:
        return Decision(True, "staff")
    return Decision(False, "staff", "admins and auditors do not read customer documents")


@rule("access.view_request")
def _view_request(user: User, req: Any) -> Decision:
    if req.requester_id == user.id:
        return Decision(True, "own-application")
    if user.has_role("archivist", "auditor", "operations_head", "leader"):
        return Decision(True, "access-overseer")
    if any(_step_decider(user, s, req) for s in req.steps):
        return Decision(True, "approver")
    return Decision(False, "access-overseer", "not your application")


def _step_decider(user: User, step: Any, req: Any) -> bool:
    if step.role not in user.roles or req.requester_id == user.id:
        return False
    return step.department_id is None or step.department_id == user.department_id


@rule("access.decide")
def _decide(user: User, step: Any) -> Decision:
    """Only the role (and department) the current step names; never the applicant."""
    if step.request.requester_id == user.id:
        return Decision(False, "no-self-approval", "nobody approves their own application")
    if _step_decider(user, step, step.request):
        return Decision(True, f"step-{step.role}")
    where = f" of department {step.department.code}" if step.department is not None else ""
    return Decision(False, f"step-{step.role}", f"this step needs the {step.role}{where}")


@rule("grant.revoke")
def _revoke(user: User, _grant: Any) -> Decision:
    if user.has_role("operations_head", "admin"):
        return Decision(True, "grant-revoker")
    return Decision(False, "grant-revoker", "only the operations head or an admin revokes grants")


@rule("grant.list")
def _grants(user: User, _target: Any) -> Decision:
    if user.has_role("operations_head", "admin", "archivist", "auditor"):
        return Decision(True, "access-overseer")
    return Decision(False, "access-overseer", "not allowed to list grants")


@rule("register.read")
def _register(user: User, _target: Any) -> Decision:
    if user.has_role("archivist", "auditor"):
        return Decision(True, "register-reader")
    return Decision(False, "register-reader", "only archivists and auditors read the register")


# --- rules of the changes area ---------------------------------------------------


@rule("change.file")
def _file_change(user: User, customer: Any) -> Decision:
    if "archivist" in user.roles:
        return Decision(True, "archivist")
    if "clerk" in user.roles and _same_department(user, customer.department_id):
        return Decision(True, "own-department-clerk")
    return Decision(
        False,
        "own-department-clerk",
        "changes are requested by the owning department's clerks or an archivist",
    )


@rule("change.decide")
def _decide_change(user: User, step: Any) -> Decision:
    if step.change.requester_id == user.id:
        return Decision(False, "no-self-approval", "nobody approves their own request")
    if step.role in user.roles:
        return Decision(True, f"step-{step.role}")
    return Decision(False, f"step-{step.role}", f"this step needs the {step.role}")


# --- rules of the disposal area ------------------------------------------------------


def _any_role(*roles: str, rule_name: str, what: str) -> RuleFn:
    def check(user: User, _target: Any) -> Decision:
        if user.has_role(*roles):
            return Decision(True, rule_name)
        return Decision(False, rule_name, f"only {', '.join(roles)} may {what}")

    return check


rule("review.compile")(
    _any_role("archivist", "operations_head", rule_name="review-compiler", what="compile a review")
)
# Reviews and destructions are read by everyone with a part in them, and by the auditor.
_DISPOSAL_READERS = ("archivist", "operations_head", "leader", "auditor", "supervisor")
rule("review.read")(_any_role(*_DISPOSAL_READERS, rule_name="disposal-reader", what="read reviews"))
rule("review.confirm")(
    _any_role("operations_head", rule_name="operations-head-only", what="confirm a review list")
)
rule("review.appraise")(
    _any_role("archivist", rule_name="archivist-only", what="appraise review items")
)
rule("destruction.apply")(
    _any_role("archivist", rule_name="archivist-only", what="apply for a destruction")
)
rule("destruction.read")(
    _any_role(*_DISPOSAL_READERS, rule_name="disposal-reader", what="read destructions")
)
rule("destruction.execute")(
    _any_role("archivist", rule_name="executor-archivist", what="execute a destruction")
)


@rule("destruction.decide")
def _decide_destruction(user: User, target: Any) -> Decision:
    dest, step = target
    if dest.applicant_id == user.id:
        return Decision(False, "no-self-approval", "nobody approves their own application")
    if step.role in user.roles:
        return Decision(True, f"step-{step.role}")
    return Decision(False, f"step-{step.role}", f"this step needs the {step.role}")


# --- rules of supervised viewing ------------------------------------------------------


@rule("viewing.open")
def _open_viewing(user: User, grant: Any) -> Decision:
    """Only the supervisor the approving leader named on the grant opens a session."""
    if "supervisor" in user.roles and grant.supervisor_id == user.id:
        return Decision(True, "named-supervisor")
    return Decision(
        False, "named-supervisor", "only the supervisor named on the grant opens a session"
    )


@rule("viewing.close")
def _close_viewing(user: User, vs: Any) -> Decision:
    if vs.supervisor_id == user.id or "operations_head" in user.roles:
        return Decision(True, "session-supervisor")
    return Decision(False, "session-supervisor", "only the session's supervisor ends it")


@rule("viewing.see")
def _see_viewing(user: User, vs: Any) -> Decision:
    if user.id in (vs.supervisor_id, vs.regulator_id):
        return Decision(True, "session-party")
    if user.has_role("auditor", "archivist", "operations_head"):
        return Decision(True, "access-overseer")
    return Decision(False, "session-party", "not your session")


@rule("viewing.view")
def _view_in_session(user: User, vs: Any) -> Decision:
    if "regulator" in user.roles and vs.regulator_id == user.id:
        return Decision(True, "supervised-session")
    return Decision(False, "supervised-session", "only the session's external viewer pages")


@rule("viewing.list")
def _list_viewing(user: User, _target: Any) -> Decision:
    if user.has_role("regulator", "supervisor", "auditor", "archivist", "operations_head"):
        return Decision(True, "session-party")
    return Decision(False, "session-party", "no supervised sessions concern you")
