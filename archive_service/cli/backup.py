"""``archive backup …`` and ``archive restore``: snapshots to the backup target, their
check, the destruction journal, and the restore onto an empty instance."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from archive_service.config import Settings

_TO = click.option(
    "--to", "to", help="A folder or s3://bucket/prefix (default: ARCHIVE_BACKUP_TO)."
)


def _target(settings: Settings, to: str | None):  # type: ignore[no-untyped-def]
    from archive_service.backup.target import TargetError, open_target

    try:
        target = open_target(settings, to)
    except TargetError as exc:
        raise click.ClickException(str(exc)) from exc
    if target is None:
        raise click.UsageError("say where: --to TARGET, or set ARCHIVE_BACKUP_TO")
    return target


def _refusal(exc: Exception) -> click.ClickException:
    return click.ClickException(f"备份不可用 / backup refused: {exc}")


@click.group(invoke_without_command=True)
@_TO
@click.pass_context
def backup(ctx: click.Context, to: str | None) -> None:
    """Back up the database, the objects and the sealed keys (备份), or a subcommand."""
    if ctx.invoked_subcommand is not None:
        return
    from archive_service.backup.database import DatabaseCopyFailed
    from archive_service.backup.manifest import BadBackup
    from archive_service.backup.sealing import WrongPassphrase
    from archive_service.backup.services import backup_now
    from archive_service.cli.common import runtime

    rt = runtime()
    target = _target(rt.settings, to)
    try:
        result = backup_now(rt, target.where if to else None)
    except (BadBackup, WrongPassphrase, DatabaseCopyFailed) as exc:
        raise _refusal(exc) from exc
    assert result is not None
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False))


@backup.command("verify")
@click.argument("where")
@click.option("--snapshot", "stamp", help="A snapshot's stamp (default: the newest).")
@click.option("--deep", is_flag=True, help="Also read every object back and compare it.")
@click.option(
    "--public-key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM of the signing key to trust when no passphrase is set.",
)
def backup_verify(where: str, stamp: str | None, deep: bool, key_path: str | None) -> None:
    """Check a backup without restoring it (exit 1 if it cannot be trusted)."""
    from archive_service.backup.manifest import BadBackup
    from archive_service.backup.sealing import WrongPassphrase
    from archive_service.backup.services import verify

    settings = Settings.from_env()
    target = _target(settings, where)
    trusted = Path(key_path).read_text(encoding="utf-8") if key_path else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result, _m, _k = verify(
                target, stamp, Path(tmp), settings.backup_passphrase, trusted, deep
            )
    except (BadBackup, WrongPassphrase) as exc:
        click.echo(json.dumps({"ok": False, "problems": [str(exc)]}, ensure_ascii=False))
        click.echo(f"备份校验失败 / backup verification FAILED: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    if not result.ok:
        click.echo("备份校验失败 / backup verification FAILED", err=True)
        sys.exit(1)


@backup.command("list")
@_TO
def backup_list(to: str | None) -> None:
    """The snapshots at the target: complete ones, and interrupted ones (no manifest)."""
    from archive_service.backup.manifest import snapshots

    complete, incomplete = snapshots(_target(Settings.from_env(), to))
    click.echo(json.dumps({"complete": complete, "incomplete": incomplete}))


@backup.command("journal")
def backup_journal() -> None:
    """Write the destruction journal entries still owed to ARCHIVE_BACKUP_TO."""
    from archive_service.backup.journal import sweep, unjournaled
    from archive_service.cli.common import runtime

    rt = runtime()
    written = sweep(rt, _target(rt.settings, None))
    with rt.db.unit_of_work() as s:
        owed = unjournaled(s)
    click.echo(json.dumps({"written": written, "still_owed": owed}))
    if owed:
        sys.exit(1)


@click.command("restore")
@click.option(
    "--from", "where", help="A folder or s3://bucket/prefix (default: ARCHIVE_BACKUP_TO)."
)
@click.option("--snapshot", "stamp", help="A snapshot's stamp (default: the newest complete).")
def restore(where: str | None, stamp: str | None) -> None:
    """Restore a backup onto an EMPTY instance (恢复), then re-apply later destructions."""
    from archive_service.backup.database import DatabaseCopyFailed
    from archive_service.backup.manifest import BadBackup
    from archive_service.backup.restore import NotEmpty
    from archive_service.backup.restore import restore as run
    from archive_service.backup.sealing import WrongPassphrase

    settings = Settings.from_env()
    target = _target(settings, where)
    try:
        result = run(settings, target, stamp, settings.backup_passphrase)
    except (BadBackup, WrongPassphrase, NotEmpty, DatabaseCopyFailed) as exc:
        raise click.ClickException(f"未恢复 / not restored: {exc}") from exc
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    if not result.ok:
        click.echo(
            "已恢复，但审计链校验未通过 / restored, but the audit trail did not verify: "
            "run 'archive audit verify'",
            err=True,
        )
        sys.exit(1)
