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
    """Destruction records (销毁记录): export and verify their signatures."""


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
    help="PEM file of the key to trust (default: this service's own signing key).",
)
def destruction_verify(path: str, key_path: str | None) -> None:
    """Check an exported record: exit 0 if the signature is valid, 1 if not."""
    from archive_service.disposal.signing import verify

    try:
        signed = json.loads(Path(path).read_text(encoding="utf-8"))
        body, signature = signed["record"], signed["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"not an exported destruction record: {exc}") from exc
    trusted = (
        Path(key_path).read_text(encoding="utf-8") if key_path else runtime().signer.public_pem
    )
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
