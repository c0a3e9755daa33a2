"""``archive keys …`` and ``archive storage …``: the master keyring and the object store
(its consistency and the fixity check)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive_service.cli.common import OPERATOR, fail, runtime
from archive_service.errors import DomainError


@click.group()
def keys() -> None:
    """The master keyring (key encryption keys)."""


@keys.command("init")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False))
def keys_init(path: str) -> None:
    """Create a new keyring file (0600) for production; refuses to overwrite one."""
    from storage.keyring import Keyring

    if Path(path).exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite a keyring")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ring = Keyring.generate()
    ring.save(path)
    click.echo(f"created keyring {path} with active key {ring.active_key_id}; back it up")


@keys.command("status")
def keys_status() -> None:
    """Master keys, the active one, and how many data keys each wraps."""
    from archive_service.vault.services import keys_in_use

    rt = runtime()
    with rt.db.unit_of_work() as s:
        used = keys_in_use(s)
    ring = rt.vault.keyring
    click.echo(
        json.dumps(
            {
                "active": ring.active_key_id,
                "keys": ring.key_ids,
                "retired": ring.retired_key_ids,
                "data_keys_per_master_key": used,
            }
        )
    )


@keys.command("rotate")
@click.option("--wait", is_flag=True, help="Re-wrap here and now instead of in the worker.")
def keys_rotate(wait: bool) -> None:
    """Add a new active master key, then re-wrap every data key under it (no content is
    re-encrypted). The re-wrap runs as a resumable Celery task."""
    from archive_service.vault import keys as master_keys
    from archive_service.vault.services import rewrap_all

    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            new, old = master_keys.rotate(s, OPERATOR, rt.vault, rewrap_later=not wait)
    except DomainError as exc:
        fail(exc)
    click.echo(f"new active master key {new} (was {old})")
    if wait:
        click.echo(f"re-wrapped {rewrap_all(rt.db, rt.vault)} data keys")
    else:
        click.echo("re-wrapping queued; 'archive keys status' shows progress")


@keys.command("retire")
@click.argument("key_id")
def keys_retire(key_id: str) -> None:
    """Destroy an old master key once no data key depends on it."""
    from archive_service.vault import keys as master_keys

    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            master_keys.retire(s, OPERATOR, rt.vault, key_id)
    except DomainError as exc:
        fail(exc)
    click.echo(f"retired {key_id}")


@click.group()
def storage() -> None:
    """The object store."""


@storage.command("check")
def storage_check() -> None:
    """Rows without objects and objects without rows (exit 1 if any)."""
    from archive_service.vault.services import consistency

    rt = runtime()
    with rt.db.unit_of_work() as s:
        result = consistency(s, rt.vault)
    click.echo(
        json.dumps(
            {
                "ok": result.ok,
                "rows_without_object": result.rows_without_object,
                "objects_without_row": result.objects_without_row,
            }
        )
    )
    if not result.ok:
        sys.exit(1)


@storage.command("fixity")
@click.option("--all", "everything", is_flag=True, help="Check every stored object (default).")
@click.option("--sample", type=click.IntRange(min=1), help="Check N objects chosen at random.")
@click.option(
    "--mb-per-s",
    type=click.IntRange(min=0),
    help="Read at most this fast (default ARCHIVE_FIXITY_MB_PER_S; 0: unlimited).",
)
def storage_fixity(everything: bool, sample: int | None, mb_per_s: int | None) -> None:
    """Decrypt stored objects and hold each against its recorded digest; repair from the
    backup where it holds a good copy. Exit 1 while failures remain open."""
    from dataclasses import replace

    from archive_service.fixity import failures
    from archive_service.fixity.rules import Plan
    from archive_service.fixity.services import Sweeper
    from archive_service.fixity.sources import good_copies
    from archive_service.fixity.vocabulary import Found

    if everything and sample:
        raise click.UsageError("give --all or --sample N, not both")
    rt = runtime()
    plan = Plan.from_settings(rt.settings)
    if mb_per_s is not None:
        plan = replace(plan, mb_per_s=mb_per_s)
    sweeper = Sweeper(
        rt.db,
        rt.vault,
        plan,
        good_copies(rt.settings),
        actor=OPERATOR.actor,
        found_by=Found.MANUAL,
    )
    result = sweeper.run_sample(sample) if sample else sweeper.run_all()
    with rt.db.read_only() as s:
        still_open = failures.count_open(s)
    click.echo(
        json.dumps(
            {
                **result.as_dict(),
                "mb_per_s": round(result.mb_per_s, 1),
                "open_failures": still_open,
            }
        )
    )
    if still_open:
        sys.exit(1)
