"""The ``archive`` command: set-up, the one-command start, users, keys, search, records,
audit. One module per group; each command calls the same use cases as the web and API."""

from __future__ import annotations

import click

from archive_service.cli import (
    backup,
    directory,
    holds,
    importing,
    keys,
    records,
    search,
    start,
    transfer,
    users,
)


@click.group()
def main() -> None:
    """Customer archive service (客户档案管理服务)."""


for command in (
    start.init,
    start.run,
    users.user,
    users.department,
    users.fonds,
    keys.keys,
    keys.storage,
    search.search,
    records.destruction,
    records.audit_group,
    backup.backup,
    backup.restore,
    importing.import_archive,
    transfer.transfer,
    holds.hold,
    directory.ldap,
):
    main.add_command(command)
