"""``archive destruction …`` and ``archive audit …``: signed destruction records, and the
audit trail's check and checkpoints."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive_service.audit import services as audit
from archive_service.cli.common import OPERATOR, fail, runtime, write_new_key
from archive_service.errors import DomainError
from archive_service.http import DB_INT_MAX


@click.group()
def destruction() -> None:
    """Destruction records (销毁记录): export and verify their signatures; the signing key."""


@destruction.command("keygen")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False))
def destruction_keygen(path: str) -> None:
    """Create the Ed25519 key that signs destruction records (0600); refuses to overwrite."""
    from archive_service.disposal.signing import new_key_pem

    write_new_key(path, new_key_pem(), "a signing key")
    click.echo(f"created {path}; mount it as ARCHIVE_SIGNING_KEY_FILE and back it up")


@destruction.command("public-key")
def destruction_public_key() -> None:
    """Print the public key that checks this service's destruction records."""
    click.echo(runtime().signer.public_pem, nl=False)


@destruction.command("rotate-key")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    help="Where to write the new private key (default: the key file in use, replaced).",
)
def destruction_rotate_key(path: str | None) -> None:
    """A new signing key for destruction records; the old public key stays in the key
    history, so every record signed with it still verifies."""
    from archive_service.disposal.keys import rotate

    rt = runtime()
    source = rt.signing
    target = Path(path) if path else source.path
    if target is None:
        raise click.ClickException(
            "the signing key is set inline (ARCHIVE_SIGNING_KEY): give --file, then set "
            "ARCHIVE_SIGNING_KEY_FILE to it (and unset ARCHIVE_SIGNING_KEY)"
        )
    in_use = source.path is not None and target.resolve() == source.path.resolve()

    def install(pem: str) -> str:
        if in_use:
            source.replace(pem)  # atomically, 0600: running processes pick it up
        else:
            write_new_key(str(target), pem, "a signing key")
        return str(target)

    try:
        with rt.db.unit_of_work() as s:
            old, new = rotate(s, OPERATOR, rt.signer, install)
    except DomainError as exc:
        fail(exc)
    except OSError as exc:
        raise click.ClickException(f"could not write {target}: {exc}; nothing changed") from exc
    click.echo(f"rotated: {old} retired (kept in the key history), {new} active")
    if in_use:
        click.echo(f"replaced {target}; running processes sign with the new key from now on")
    else:
        click.echo(
            f"wrote {target}: mount it as ARCHIVE_SIGNING_KEY_FILE on every process (replacing "
            "the old key file) and back it up; until then records are signed with the old key"
        )


@destruction.command("export")
@click.argument("destruction_id", type=click.IntRange(1, DB_INT_MAX))
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file (default stdout).")
def destruction_export(destruction_id: int, out: str | None) -> None:
    """The signed record of a completed destruction, as JSON."""
    from archive_service.disposal.records import export_record

    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            _dest, signed = export_record(s, OPERATOR, rt.signer, destruction_id)
    except DomainError as exc:
        fail(exc)
    text = json.dumps(signed, ensure_ascii=False, indent=2)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text)


@destruction.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--public-key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM file of the key to trust (default: the service's key that signed the record, "
    "from its key history).",
)
def destruction_verify(path: str, key_path: str | None) -> None:
    """Check an exported record: exit 0 if the signature is valid, 1 if not."""
    from archive_service.disposal.signing import verify

    try:
        signed = json.loads(Path(path).read_text(encoding="utf-8"))
        body, signature = signed["record"], signed["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"not an exported destruction record: {exc}") from exc
    trusted = Path(key_path).read_text(encoding="utf-8") if key_path else _service_key(signed)
    if signed.get("public_key") and signed["public_key"].strip() != trusted.strip():
        click.echo("note: the file names a different public key than the one trusted here")
    if verify(trusted, body, signature):
        click.echo(
            f"valid: destruction {body.get('destruction_id')} of {body.get('time')}, "
            f"{len(body.get('items', []))} items"
        )
        return
    click.echo("NOT valid: the record or its signature was altered, or another key signed it")
    sys.exit(1)


def _service_key(signed: dict[str, object]) -> str:
    """The public key of this service that signed the record (by its ``key_id``)."""
    from archive_service.disposal.keys import public_key_of

    rt = runtime()
    key_id = signed.get("key_id")
    with rt.db.unit_of_work() as s:
        pem = public_key_of(s, key_id if isinstance(key_id, str) else None, rt.signer)
    if pem is None:
        click.echo(f"note: key {key_id} is not in this service's key history; trying the current")
        return rt.signer.public_pem
    return pem


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the hash chain and hold it against the signed checkpoints outside the
    database; exit status 1 naming each finding (the first one as ``reason``)."""
    rt = runtime()
    with rt.db.unit_of_work() as s:
        result = audit.verify_and_record(s, OPERATOR.actor, rt.anchor)
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    if not result.ok:
        sys.exit(1)


@audit_group.command("checkpoint")
def audit_checkpoint() -> None:
    """Pin the chain's newest event in the anchor stores now (the beat does it regularly)."""
    from archive_service.audit.anchoring import write_checkpoint

    rt = runtime()
    try:
        result = write_checkpoint(rt.db, rt.anchor, OPERATOR.actor)
    except DomainError as exc:
        fail(exc)
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False))


@audit_group.command("keygen")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False))
def audit_keygen(path: str) -> None:
    """Create the Ed25519 key that signs checkpoints (0600); refuses to overwrite."""
    from archive_service.audit.signing import new_key_pem

    write_new_key(path, new_key_pem(), "a signing key")
    click.echo(f"created {path}; mount it as ARCHIVE_AUDIT_KEY_FILE where checkpoints are written")


@audit_group.command("public-key")
def audit_public_key() -> None:
    """Print the public key that checks this service's checkpoints."""
    click.echo(runtime().anchor.key.public_pem, nl=False)
