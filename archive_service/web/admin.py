"""Administration pages: accounts, their sessions, role grants, applications,
departments."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from archive_service.accounts import departments as account_departments
from archive_service.accounts import role_grants, web_sessions
from archive_service.accounts import users as account_users
from archive_service.errors import DomainError
from archive_service.http import caller, request_session, runtime, signed_in, uow
from archive_service.notifications.services import webhooks as notification_webhooks
from archive_service.notifications.vocabulary import WEBHOOK_CHANNELS
from archive_service.policy import may, require
from archive_service.web.forms import (
    ActionForm,
    DepartmentForm,
    ReasonForm,
    RolesForm,
    UserForm,
    attempt,
)

bp = Blueprint("web_admin", __name__, url_prefix="/admin")


def _department_choices(blank: bool = False) -> list[tuple[str, str]]:
    choices = [
        (d.code, f"{d.code} · {d.name}")
        for d in account_departments.list_departments(request_session())
    ]
    return ([("", "—")] if blank else []) + choices


@bp.route("/users", methods=["GET", "POST"])
@signed_in
def users() -> Any:
    require(caller(), "user.list")
    form = UserForm()
    form.department.choices = _department_choices(blank=True)
    if form.validate_on_submit():
        try:
            with uow() as s:
                user = account_users.create_user(
                    s,
                    caller(),
                    username=form.username.data or "",
                    password=form.password.data or "",
                    display_name=form.display_name.data or "",
                    department=form.department.data or None,
                    roles=form.roles.data or [],
                    email=form.email.data or None,
                    settings=runtime().accounts,
                )
            flash(_("Account %(name)s created.", name=user.username), "info")
            return redirect(url_for("web_admin.users"))
        except DomainError as exc:
            flash(exc.message, "error")
    all_users = account_users.list_users(request_session(), caller())
    return render_template("admin/users.html", users=all_users, form=form)


@bp.get("/users/<int:user_id>")
@signed_in
def user_detail(user_id: int) -> Any:
    require(caller(), "user.list")
    session = request_session()
    user = account_users.get_user(session, user_id)
    grant = role_grants.open_grant_for(session, user.id)
    wanted = sorted(set(user.roles) | set(grant.roles if grant else ()))
    roles_form = RolesForm(roles=wanted or sorted(user.requested_roles))
    return render_template(
        "admin/user.html",
        user=user,
        grant=grant,
        sessions=web_sessions.open_sessions(session, caller(), user.id, runtime().accounts),
        roles_form=roles_form,
        close_form=ReasonForm(),
        action_form=ActionForm(),
    )


def _do(action: Any, success: str, user_id: int) -> Any:
    attempt(success, action)
    return redirect(url_for("web_admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/roles")
@signed_in
def set_roles(user_id: int) -> Any:
    form = RolesForm()
    if not form.validate_on_submit():
        flash(_("Invalid form."), "error")
        return redirect(url_for("web_admin.user_detail", user_id=user_id))
    user = account_users.get_user(request_session(), user_id)
    wanted = form.roles.data or []
    held = _("Roles that read content or the audit trail wait for a second administrator.")
    if user.status == "approved":
        done = _("Account activated.")
        action = account_users.activate
    else:
        done = _("Roles saved.")
        action = account_users.set_roles
    saved = attempt(done, lambda s: action(s, caller(), user_id, wanted))
    if saved and account_users.pending_roles(request_session(), user):
        flash(held, "info")
    return redirect(url_for("web_admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/end-sessions")
@signed_in
def end_sessions(user_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        flash(_("Invalid form."), "error")
        return redirect(url_for("web_admin.user_detail", user_id=user_id))
    return _do(
        lambda s: web_sessions.end_all_sessions(s, caller(), user_id),
        _("Every session and API token of this account has ended."),
        user_id,
    )


@bp.get("/role-grants")
@signed_in
def grants() -> Any:
    pending = role_grants.pending_grants(request_session(), caller())
    return render_template(
        "admin/role_grants.html",
        pending=pending,
        decidable={g.id for g in pending if role_grants.may_decide(caller(), g)},
        action_form=ActionForm(),
    )


@bp.post("/role-grants/<int:grant_id>/<any(approve, reject):decision>")
@signed_in
def decide_grant(grant_id: int, decision: str) -> Any:
    if ActionForm().validate_on_submit():
        comment = request.form.get("comment", "")
        attempt(
            _("Role grant approved.") if decision == "approve" else _("Role grant rejected."),
            lambda s: role_grants.decide(s, caller(), grant_id, decision, comment),
        )
    else:
        flash(_("Invalid form."), "error")
    return redirect(url_for("web_admin.grants"))


@bp.post("/users/<int:user_id>/close")
@signed_in
def close(user_id: int) -> Any:
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("A reason is required."), "error")
        return redirect(url_for("web_admin.user_detail", user_id=user_id))
    return _do(
        lambda s: account_users.close_account(s, caller(), user_id, form.reason.data or ""),
        _("Account closed; its sessions and tokens have ended."),
        user_id,
    )


@bp.get("/applications")
@signed_in
def applications() -> Any:
    pending = account_users.pending_applications(request_session(), caller())
    return render_template(
        "admin/applications.html",
        pending=pending,
        action_form=ActionForm(),
        reject_form=ReasonForm(),
    )


@bp.post("/applications/<int:user_id>/approve")
@signed_in
def approve(user_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            with uow() as s:
                account_users.approve_application(s, caller(), user_id)
            flash(_("Application approved."), "info")
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(url_for("web_admin.applications"))


@bp.post("/applications/<int:user_id>/reject")
@signed_in
def reject(user_id: int) -> Any:
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            with uow() as s:
                account_users.reject_application(s, caller(), user_id, form.reason.data or "")
            flash(_("Application rejected."), "info")
        except DomainError as exc:
            flash(exc.message, "error")
    else:
        flash(_("A reason is required."), "error")
    return redirect(url_for("web_admin.applications"))


@bp.route("/departments", methods=["GET", "POST"])
@signed_in
def departments() -> Any:
    require(caller(), "department.create")
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            with uow() as s:
                account_departments.create_department(
                    s, caller(), form.code.data or "", form.name.data or ""
                )
            flash(_("Department created."), "info")
            return redirect(url_for("web_admin.departments"))
        except DomainError as exc:
            flash(exc.message, "error")
    return render_template(
        "admin/departments.html",
        form=form,
        departments=account_departments.list_departments(request_session()),
        robots=notification_webhooks(request_session(), caller())
        if may(caller(), "notification.configure")
        else None,
        robot_channels=WEBHOOK_CHANNELS,
        robot_form=ActionForm(),
    )
