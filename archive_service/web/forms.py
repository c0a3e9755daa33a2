"""Flask-WTF forms (every one carries a CSRF token), and running a form's use case."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.orm import Session
from wtforms import (
    DateField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from archive_service.accounts.vocabulary import ROLES
from archive_service.archive.vocabulary import HOLD_BASES, INTAKE_REFUSALS
from archive_service.errors import DomainError
from archive_service.http import DB_INT_MAX, uow
from archive_service.paper.vocabulary import LOAN_PLACES, LOCATION_KINDS
from archive_service.transfer.vocabulary import DISPOSITIONS, Disposition


def refusal(exc: DomainError) -> str:
    """The words for a refusal: a file intake refused by its structure in the interface's
    language (its reason's label), else the service's message."""
    term = INTAKE_REFUSALS.get(exc.details.get("reason"))
    return pgettext(term.label.context, term.label.english) if term else exc.message


def attempt(success: str, action: Callable[[Session], Any]) -> bool:
    """Run a use case in one transaction and flash the outcome: ``success``, or the
    refusal's message (nothing changed then)."""
    try:
        with uow() as s:
            action(s)
    except DomainError as exc:
        flash(refusal(exc), "error")
        return False
    flash(success, "info")
    return True


class BadIds(ValueError):
    """A box of ids holds something that is not one."""


def parse_ids(raw: str | None) -> list[int]:
    """``"12, 15 18"`` → ``[12, 15, 18]``; anything else than whole numbers is refused."""
    tokens = [t for t in re.split(r"[\s,;，、]+", raw or "") if t]
    if not all(t.isdigit() and 0 < int(t) <= DB_INT_MAX for t in tokens):
        raise BadIds(raw)
    return [int(t) for t in tokens]


def role_choices() -> list[tuple[str, Any]]:
    return [(r.code, lazy_pgettext(r.label.context, r.label.english)) for r in ROLES]


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=150)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(_l("Sign in"))


class ApplyForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=2, max=64)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    department = SelectField(_l("Department"), validators=[Optional()])
    roles = SelectMultipleField(_l("Roles needed"), choices=role_choices())
    organisation = StringField(
        _l("Organisation (external applicants)"), validators=[Optional(), Length(max=200)]
    )
    account_end_date = DateField(
        _l("Account end date (external applicants)"), validators=[Optional()]
    )
    note = TextAreaField(_l("Why you need an account"), validators=[Optional(), Length(max=1000)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat password"), validators=[EqualTo("password", message=_l("Passwords differ"))]
    )
    submit = SubmitField(_l("Apply"))


class PasswordForm(FlaskForm):
    old_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[EqualTo("new_password", message=_l("Passwords differ"))],
    )
    submit = SubmitField(_l("Change password"))


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=2, max=64)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    department = SelectField(_l("Department"), validators=[Optional()])
    roles = SelectMultipleField(_l("Roles"), choices=role_choices())
    password = PasswordField(_l("Initial password"), validators=[DataRequired()])
    submit = SubmitField(_l("Create account"))


class RolesForm(FlaskForm):
    roles = SelectMultipleField(_l("Roles"), choices=role_choices())
    submit = SubmitField(_l("Save roles"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Confirm"))


class ActionForm(FlaskForm):
    """A bare form: a button and its CSRF token."""

    submit = SubmitField(_l("Confirm"))


class DepartmentForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Create department"))


def basis_choices() -> list[tuple[str, Any]]:
    return [(b.code, lazy_pgettext(b.label.context, b.label.english)) for b in HOLD_BASES]


class HoldCaseForm(FlaskForm):
    """Open a hold case; its first documents and customers are optional (ids, any
    separator)."""

    name = StringField(_l("Case name"), validators=[DataRequired(), Length(max=200)])
    basis = SelectField(_l("Basis"), choices=basis_choices())
    reference = StringField(_l("Reference number"), validators=[Optional(), Length(max=100)])
    owner = StringField(
        _l("Owner (username; yourself when empty)"), validators=[Optional(), Length(max=150)]
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
    document_ids = StringField(_l("Document ids"), validators=[Optional(), Length(max=10000)])
    customer_ids = StringField(_l("Customer ids"), validators=[Optional(), Length(max=10000)])
    submit = SubmitField(_l("Open the case"))


class HoldItemsForm(FlaskForm):
    document_ids = StringField(_l("Document ids"), validators=[Optional(), Length(max=10000)])
    customer_ids = StringField(_l("Customer ids"), validators=[Optional(), Length(max=10000)])
    submit = SubmitField(_l("Add to the case"))


def disposition_choices() -> list[tuple[str, Any]]:
    return [(d.code, lazy_pgettext(d.label.context, d.label.english)) for d in DISPOSITIONS]


class TransferForm(FlaskForm):
    """A transfer application (移交申请): which accepted documents go (every criterion given
    must hold), to whom, why, and what becomes of the copies here. The categories are the
    category table's (the page lists them; the service refuses an unknown one)."""

    customer = StringField(
        _l("Customer: exact name or credit code"), validators=[Optional(), Length(max=300)]
    )
    customer_ids = StringField(_l("…or customer ids"), validators=[Optional(), Length(max=10000)])
    categories = SelectMultipleField(_l("Categories"), choices=[], validate_choice=False)
    number_from = StringField(_l("Archive numbers from"), validators=[Optional(), Length(max=64)])
    number_to = StringField(_l("Archive numbers to"), validators=[Optional(), Length(max=64)])
    receiver = StringField(_l("Receiver"), validators=[DataRequired(), Length(max=300)])
    purpose = TextAreaField(
        _l("Reason for the transfer"), validators=[DataRequired(), Length(max=1000)]
    )
    disposition = RadioField(
        _l("Copies here after the receipt"),
        choices=disposition_choices(),
        default=Disposition.KEEP,
    )
    submit = SubmitField(_l("Apply for the transfer"))


class ReceiptForm(FlaskForm):
    receipt = StringField(_l("Receipt reference"), validators=[DataRequired(), Length(max=300)])
    submit = SubmitField(_l("Confirm receipt"))


class ImportForm(FlaskForm):
    """The import page's upload: the manifest, and a ZIP of its files or a folder under
    the import root (the service decides which it got)."""

    manifest = FileField(_l("Manifest (.xlsx or .csv)"))
    files = FileField(_l("The files, as one ZIP"))
    folder = SelectField(_l("Or a folder on the server"), choices=[], validate_choice=False)
    department = StringField(
        _l("Department for new customers (code)"), validators=[Optional(), Length(max=32)]
    )
    submit = SubmitField(_l("Check the manifest"))


def location_kind_choices() -> list[tuple[str, Any]]:
    return [(k.code, lazy_pgettext(k.label.context, k.label.english)) for k in LOCATION_KINDS]


class LocationForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=location_kind_choices())
    parent_id = SelectField(_l("Inside"), choices=[], validate_choice=False)
    submit = SubmitField(_l("Add the place"))


class PaperForm(FlaskForm):
    location_id = SelectField(_l("Kept at"), choices=[], validate_choice=False)
    pages = StringField(_l("Pages"), validators=[Optional(), Length(max=6)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Save the paper original"))


class LendForm(FlaskForm):
    """Hand the paper original out: to the holder of which grant, until when, read where."""

    grant_id = SelectField(_l("Borrower (their grant)"), choices=[], validate_choice=False)
    due_on = DateField(_l("Due back on"), validators=[Optional()])
    place = SelectField(
        _l("Where it is read"),
        choices=[(p.code, lazy_pgettext(p.label.context, p.label.english)) for p in LOAN_PLACES],
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Hand out"))


class ReturnForm(FlaskForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Record the return"))


class FindForm(FlaskForm):
    code = StringField(
        _l("Label code or archive number"), validators=[DataRequired(), Length(max=2000)]
    )
    location_id = SelectField(_l("Found at"), choices=[], validate_choice=False)
    submit = SubmitField(_l("Record as found"))


class SignForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Sign the report off"))
