"""Sign in and out, apply for an account, change the password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from archive_service.accounts import authentication, departments, users, web_sessions
from archive_service.errors import DomainError
from archive_service.http import (
    caller,
    peer_address,
    public,
    request_session,
    runtime,
    signed_in,
    uow,
    web_session_id,
)
from archive_service.web.forms import ApplyForm, LoginForm, PasswordForm

bp = Blueprint("web_auth", __name__)


@dataclass(frozen=True)
class _SessionKey:
    """What Flask-Login keeps in the cookie at sign-in (``get_id``): the key of the
    server's web session, never the user's id, so the server can end it."""

    key: str
    is_active: bool = True

    def get_id(self) -> str:
        return self.key


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: no open redirects."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("web_home.index")


def _signed_in(result: authentication.LoginResult) -> Any:
    """Open the server's web session for a successful sign-in and go on; None when the
    sign-in failed (the attempt is committed either way)."""
    session = request_session()
    key = None
    if result.ok:
        assert result.user is not None
        key = web_sessions.open_web_session(
            session, result.user, request.remote_addr, request.user_agent.string
        )
    session.commit()
    if key is None:
        return None
    login_user(_SessionKey(key))
    if result.notice is not None:
        flash(
            _(
                "%(count)d failed sign-ins to your account since %(since)s. "
                "If they were not yours, tell your administrator.",
                count=result.notice.count,
                since=format_datetime(result.notice.since),
            ),
            "warning",
        )
    return redirect(_safe_next(request.args.get("next")))


def _refusal(result: authentication.LoginResult) -> int | None:
    """Say why a sign-in that is not a wrong password failed; its status (None: it was
    a wrong password or an unknown name, answered alike by the caller)."""
    if result.outcome == authentication.LoginOutcome.DIRECTORY_UNAVAILABLE:
        flash(
            _(
                "The directory (LDAP / Active Directory) is unavailable, so directory "
                "accounts cannot sign in right now. Try again later or tell your administrator."
            ),
            "error",
        )
        return 503
    if result.outcome == authentication.LoginOutcome.NOT_ACTIVE:
        messages = {
            "applied": _("Your account application is waiting for approval."),
            "approved": _("Your application was approved; an administrator will activate it."),
            "closed": _("This account is closed."),
            "rejected": _("This account application was rejected."),
            "no_roles": _(
                "Your directory account is in no group that gives access to the archive. "
                "Ask your administrator."
            ),
        }
        flash(messages.get(result.status or "", _("This account cannot sign in.")), "error")
        return 401
    return None


def _gateway_sign_in() -> Any:
    """A trusted SSO gateway names the person (``ARCHIVE_SSO_HEADER`` from an address of
    ``ARCHIVE_SSO_TRUSTED_PROXIES``): sign them in without a password. None: no such
    header from such an address (it is then ignored), and the form is shown."""
    gate = runtime().accounts.sso
    if gate is None:
        return None
    username = gate.username(request.headers, peer_address())
    if username is None:
        return None
    result = authentication.authenticate_sso(
        request_session(), username, request.remote_addr, runtime().accounts
    )
    done = _signed_in(result)
    if done is not None:
        return done
    status = _refusal(result)
    if status is None:
        flash(_("The sign-in gateway named an account this archive does not know."), "error")
    return render_template("auth/login.html", form=LoginForm()), status or 401


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    if request.method == "GET":
        via_gateway = _gateway_sign_in()
        if via_gateway is not None:
            return via_gateway
    form = LoginForm()
    if form.validate_on_submit():
        result = authentication.authenticate(
            request_session(),
            form.username.data or "",
            form.password.data or "",
            request.remote_addr,
            "web",
            runtime().accounts,
        )
        done = _signed_in(result)
        if done is not None:
            return done
        status = _refusal(result)
        if status is not None:
            return render_template("auth/login.html", form=form), status
        # The same words whether the name is unknown, the password wrong, or this
        # address waits after repeated failures: nothing tells which accounts exist.
        flash(
            _(
                "Wrong username or password. After repeated failures, sign-in from "
                "your address waits a little longer each time."
            ),
            "error",
        )
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@signed_in
def logout() -> Any:
    with uow() as s:
        web_sessions.sign_out(s, caller(), web_session_id())
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("web_auth.login"))


@bp.route("/apply", methods=["GET", "POST"])
@public
def apply() -> Any:
    session = request_session()
    form = ApplyForm()
    form.department.choices = [("", "—")] + [
        (d.code, f"{d.code} · {d.name}") for d in departments.list_departments(session)
    ]
    if form.validate_on_submit():
        try:
            with uow() as s:
                users.apply_for_account(
                    s,
                    caller(),
                    username=form.username.data or "",
                    password=form.password.data or "",
                    display_name=form.display_name.data or "",
                    department=form.department.data or None,
                    requested_roles=form.roles.data or [],
                    email=form.email.data or None,
                    note=form.note.data,
                    settings=runtime().accounts,
                    organisation=form.organisation.data,
                    account_end_date=form.account_end_date.data,
                )
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("auth/apply.html", form=form), exc.status
        # The same answer when the username is taken (recorded for the admins, nothing
        # created): an anonymous caller learns nothing about who has an account.
        flash(
            _(
                "Application received. If it is accepted, you can sign in once it is "
                "approved and activated."
            ),
            "info",
        )
        return redirect(url_for("web_auth.login"))
    return render_template("auth/apply.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def password() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            with uow() as s:
                users.change_password(
                    s,
                    caller(),
                    form.old_password.data or "",
                    form.new_password.data or "",
                    runtime().accounts,
                    keep_session=web_session_id(),  # this session carries on; others end
                )
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("auth/password.html", form=form), exc.status
        flash(_("Password changed. Other sessions and API tokens were ended."), "info")
        return redirect(url_for("web_home.index"))
    return render_template("auth/password.html", form=form)
