"""What every command of the ``archive`` CLI shares: the operator, the runtime, errors.

Every command acts as the *operator* (the person at the server's console) and calls the
same use cases as the web and the API, which write the audit trail.
"""

from __future__ import annotations

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


def fail(exc: DomainError) -> NoReturn:
    raise click.ClickException(exc.message) from exc
