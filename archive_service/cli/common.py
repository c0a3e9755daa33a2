"""What every command of the ``archive`` CLI shares: the operator, the runtime, errors.

Every command acts as the *operator* (the person at the server's console) and calls the
same use cases as the web and the API, which write the audit trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from archive_service.config import Settings
from archive_service.errors import DomainError
from archive_service.policy import Caller
from archive_service.runtime import Runtime, build_runtime
from workers.sender import connect

OPERATOR = Caller.cli()


def runtime() -> Runtime:
    return connect(build_runtime(Settings.from_env()))


def acting_as(rt: Runtime, username: str | None) -> Caller:
    """The operator, or the active user ``username`` (whose rights then apply)."""
    if not username:
        return OPERATOR
    from archive_service.accounts.users import user_by_username

    with rt.db.session() as s:  # closed, not rolled back: the user stays loaded
        user = user_by_username(s, username)
        if user is None or not user.is_active_account:
            raise click.ClickException(f"no active user {username!r}")
        return Caller.of(user)


def fail(exc: DomainError) -> NoReturn:
    raise click.ClickException(exc.message) from exc


def write_new_key(path: str, text: str, what: str) -> None:
    """Write a freshly made secret to ``path`` (0600, folders made); never over an existing
    file: an overwritten key loses what it signed or keyed."""
    from archive_service.instance import write_secret_file

    if Path(path).exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite {what}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_secret_file(Path(path), text)
