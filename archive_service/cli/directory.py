"""``archive ldap …``: check the directory settings, and run the leaver sync by hand (the
beat runs it every ``ARCHIVE_LDAP_SYNC_MINUTES``)."""

from __future__ import annotations

import json

import click

from archive_service.cli.common import runtime


@click.group("ldap")
def ldap() -> None:
    """The directory (LDAP / Active Directory)."""


@ldap.command("check")
@click.option("--user", "username", default=None, help="also show what this person would get")
def ldap_check(username: str | None) -> None:
    """Reach the directory over TLS, bind as the service account, read the mapped groups."""
    from archive_service.directory.services import check

    rt = runtime()
    if rt.accounts.directory is None:
        raise click.ClickException("no directory configured (ARCHIVE_LDAP_URL)")
    report = check(rt.accounts.directory, username)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["ok"]:
        raise SystemExit(1)


@ldap.command("sync")
@click.option(
    "--no-limit",
    is_flag=True,
    help="close however many the directory says have left (ARCHIVE_LDAP_SYNC_MAX_CLOSE)",
)
def ldap_sync(no_limit: bool) -> None:
    """Close leavers and bring mapped roles up to date now."""
    from archive_service.directory.services import sync

    rt = runtime()
    if rt.accounts.directory is None:
        raise click.ClickException("no directory configured (ARCHIVE_LDAP_URL)")
    limit = 0 if no_limit else rt.settings.ldap_sync_max_close
    report = sync(rt.db, rt.accounts.directory, limit)
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    if report.error is not None:
        raise SystemExit(1)
