"""``archive transfer``: write an approved transfer's package, check a package, and take
one in from another archive (the use cases are archive_service.transfer)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archive_service.cli.common import OPERATOR, acting_as, fail, runtime
from archive_service.errors import DomainError


@click.group()
def transfer() -> None:
    """Transfers (移交): packages for another archive, and packages from one."""


@transfer.command("list")
@click.option("--status", help="Only transfers in this state.")
def transfer_list(status: str | None) -> None:
    from archive_service.transfer import applications

    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            rows, total = applications.list_transfers(s, OPERATOR, status, 1, 500)
            for t in rows:
                click.echo(f"{t.id}\t{t.status}\t{len(t.items)} documents\t{t.receiver}")
            click.echo(f"({total} transfers)")
    finally:
        rt.close()


@transfer.command("export")
@click.argument("transfer_id", type=int)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The package file to write (a ZIP).",
)
@click.option("--as", "username", help="Export as this user (an archivist); default: the operator.")
def transfer_export(transfer_id: int, out: Path, username: str | None) -> None:
    """Write the package of an approved transfer."""
    from archive_service.transfer import package

    rt = runtime()
    try:
        done = package.export(package.Exporting.of(rt), acting_as(rt, username), transfer_id, out)
    except DomainError as exc:
        fail(exc)
    finally:
        rt.close()
    click.echo(
        f"wrote {done.path}: {done.documents} documents, {done.files} files, "
        f"{done.bytes} bytes; manifest SHA-256 {done.manifest_sha256}; "
        f"signed by key {done.signing_key_id}"
    )


def _trusted(key: Path | None) -> str | None:
    return key.read_text() if key is not None else None


def _problems(problems: list) -> None:  # type: ignore[type-arg]
    for p in problems:
        click.echo(f"{p.path}: {p.message}", err=True)


@transfer.command("verify")
@click.argument("package_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The sender's public key (PEM): the package must be signed with it.",
)
def transfer_verify(package_file: Path, key: Path | None) -> None:
    """Check a package: its signature, and every file against the manifest. Exit status 1
    when anything is wrong; each problem names its file."""
    from archive_service.transfer.verify import verify

    checked = verify(package_file, _trusted(key))
    if not checked.ok:
        _problems(checked.problems)
        click.echo(f"{package_file}: does NOT verify ({len(checked.problems)} problems)")
        sys.exit(1)
    assert checked.manifest is not None
    trust = "the trusted key" if checked.pinned else "a key not checked against one you trust"
    click.echo(
        f"{package_file}: verifies — package {checked.package_id}, "
        f"{len(checked.manifest['documents'])} documents, {len(checked.manifest['files'])} "
        f"files, signed by key {checked.key_id} ({trust})"
    )


@transfer.command("import")
@click.argument("package_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--department", help="Department code of the customers new to this archive.")
@click.option(
    "--as", "username", help="Receive as this user (an archivist); default: the operator."
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The sender's public key (PEM): the package must be signed with it.",
)
def transfer_import(
    package_file: Path, department: str | None, username: str | None, key: Path | None
) -> None:
    """Take a transfer package in: verified, then every document or none."""
    from archive_service.transfer import receive

    rt = runtime()
    try:
        got = receive.receive(
            receive.Receiving.of(rt),
            acting_as(rt, username),
            package_file,
            department,
            _trusted(key),
        )
    except receive.PackageRefused as exc:
        _problems(exc.problems)
        fail(exc)
    except DomainError as exc:
        fail(exc)
    finally:
        rt.close()
    click.echo(
        f"received package {got.package_id}: {got.documents} documents, "
        f"{got.customers_opened} customers opened"
    )
