"""``archive user …``, ``archive department …`` and ``archive fonds …``: accounts,
departments and the fonds of a group."""

from __future__ import annotations

import json

import click
from sqlalchemy.orm import Session

from archive_service.accounts import authentication, departments, users, web_sessions
from archive_service.accounts.vocabulary import ROLES
from archive_service.archive import fonds as archive_fonds
from archive_service.cli.common import OPERATOR, fail, runtime
from archive_service.errors import DomainError


@click.group()
def user() -> None:
    """Accounts."""


@user.command("create")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--department", default=None)
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES.codes))
@click.option("--email", default=None)
@click.password_option(envvar="ARCHIVE_NEW_USER_PASSWORD")
def user_create(
    username: str,
    display_name: str,
    department: str | None,
    roles: tuple[str, ...],
    email: str | None,
    password: str,
) -> None:
    """Create an active account."""
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            u = users.create_user(
                s,
                OPERATOR,
                username=username,
                password=password,
                display_name=display_name,
                department=department,
                roles=roles,
                email=email,
                settings=rt.accounts,
            )
            click.echo(json.dumps(u.summary(), ensure_ascii=False))
    except DomainError as exc:
        fail(exc)


def _user_id(session: Session, username: str) -> int:
    found = users.user_by_username(session, username)
    if found is None:
        raise click.ClickException(f"no user {username!r}")
    return found.id


@user.command("close")
@click.argument("username")
@click.option("--reason", required=True)
def user_close(username: str, reason: str) -> None:
    """Close an account; its sessions and tokens end at once."""
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            users.close_account(s, OPERATOR, _user_id(s, username), reason)
    except DomainError as exc:
        fail(exc)
    click.echo(f"closed {username}")


@user.command("end-sessions")
@click.argument("username")
def user_end_sessions(username: str) -> None:
    """End every web session and API token of an account at once."""
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            ended, revoked = web_sessions.end_all_sessions(s, OPERATOR, _user_id(s, username))
    except DomainError as exc:
        fail(exc)
    click.echo(f"{username}: {ended} web sessions ended, {revoked} API tokens revoked")


@user.command("unlock")
@click.argument("username")
def user_unlock(username: str) -> None:
    """Lift the sign-in delays on an account, from every address."""
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            count = authentication.unlock(s, OPERATOR, _user_id(s, username))
    except DomainError as exc:
        fail(exc)
    click.echo(f"{username}: sign-in delays lifted ({count} addresses)")


@user.command("set-roles")
@click.argument("username")
@click.argument("roles", nargs=-1, type=click.Choice(ROLES.codes))
def user_set_roles(username: str, roles: tuple[str, ...]) -> None:
    """Replace an account's roles at once (the operator's path for the first set-up; an
    admin's grant of a role that reads waits for a second admin)."""
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            u = users.set_roles(s, OPERATOR, _user_id(s, username), roles)
            click.echo(json.dumps(u.summary(), ensure_ascii=False))
    except DomainError as exc:
        fail(exc)


@user.command("list")
def user_list() -> None:
    """Every account, one JSON line each."""
    rt = runtime()
    with rt.db.unit_of_work() as s:
        for u in users.list_users(s, OPERATOR):
            click.echo(json.dumps(u.summary(), ensure_ascii=False))


@click.group()
def department() -> None:
    """Departments."""


@department.command("create")
@click.argument("code")
@click.argument("name")
def department_create(code: str, name: str) -> None:
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            d = departments.create_department(s, OPERATOR, code, name)
            click.echo(f"{d.code} {d.name}")
    except DomainError as exc:
        fail(exc)


@click.group()
def fonds() -> None:
    """Fonds (全宗) of a group: one per legal entity, each its own numbering series."""


@fonds.command("create")
@click.argument("code")
@click.argument("name")
def fonds_create(code: str, name: str) -> None:
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            made = archive_fonds.create_fonds(s, OPERATOR, code, name, rt.archive.number_pattern)
            click.echo(f"fonds {made.code} created")
    except DomainError as exc:
        fail(exc)
    finally:
        rt.close()


@fonds.command("list")
def fonds_list() -> None:
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            for f in archive_fonds.list_fonds(s):
                click.echo(f"{f.code}\t{f.name}")
        click.echo(f"(customers without a fonds: {rt.archive.fonds})")
    finally:
        rt.close()
