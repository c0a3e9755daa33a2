"""The ``archive`` command: set-up, the one-command start, users, audit.

Every command acts as the *operator* (the person at the server's console)
and writes its changes to the audit trail like any other caller.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.orm import Session

from archive_service.accounts import departments, users
from archive_service.accounts.bootstrap import bootstrap
from archive_service.accounts.vocabulary import ROLES
from archive_service.audit import services as audit
from archive_service.config import Settings
from archive_service.errors import DomainError
from archive_service.instance import ensure_instance
from archive_service.migrate import upgrade
from archive_service.policy import Caller
from archive_service.runtime import Runtime, build_runtime
from workers.sender import connect

OPERATOR = Caller.cli()


def _runtime() -> Runtime:
    return connect(build_runtime(Settings.from_env()))


def _fail(exc: DomainError) -> NoReturn:
    raise click.ClickException(exc.message) from exc


@click.group()
def main() -> None:
    """Customer archive service (客户档案管理服务)."""


# --- set-up and start ---------------------------------------------------------


def initialise(settings: Settings) -> tuple[Runtime, str | None]:
    """Create the instance folder, migrate, seed the operations department and an admin.

    Returns the runtime and, only when the admin was created now with a
    generated password, that password (to be shown once).
    """
    ensure_instance(settings)
    upgrade(settings.database_url)
    rt = connect(build_runtime(settings))
    rt.vault.backend.ensure_ready()
    with rt.db.unit_of_work() as s:
        generated = bootstrap(
            s, rt.accounts, settings.operations_department, settings.admin_password
        )
    return rt, generated


@main.command()
def init() -> None:
    """Create or migrate the database and the first admin account."""
    settings = Settings.from_env()
    try:
        rt, generated = initialise(settings)
    except DomainError as exc:
        _fail(exc)
    rt.close()
    click.echo(f"instance: {settings.instance_dir}")
    if generated:
        click.echo(f"admin account created: username 'admin', password '{generated}' (shown once)")
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Do not start the Celery worker and beat.")
def run(host: str, port: int, threads: int, no_worker: bool) -> None:
    """Start everything on this machine: web server, Celery worker and beat."""
    import waitress

    from archive_service.app import create_app

    settings = Settings.from_env()
    try:
        rt, generated = initialise(settings)
    except DomainError as exc:
        _fail(exc)
    if settings.embedded:
        click.secho(
            "WARNING: embedded default — secrets are generated into "
            f"{settings.instance_dir} (mode 0600). Back this folder up; "
            "production mounts its keys instead.",
            fg="yellow",
            err=True,
        )
    worker = None if no_worker else _start_worker(settings)
    app = create_app(settings, runtime=rt)
    # Bind before announcing, so the printed URL answers at once.
    server = waitress.create_server(app, host=host, port=port, threads=threads, ident="archive")
    url = f"http://{host}:{port}/"
    click.echo(f"Customer archive service running at {url}")
    if generated:
        click.echo(
            f"Admin account: username 'admin', password '{generated}' (shown once; change it)"
        )
    else:
        click.echo("Admin account: 'admin' (password as set before)")
    sys.stdout.flush()

    def _stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        rt.close()


def embedded_worker_command(settings: Settings) -> list[str]:
    """The embedded start's worker with beat: a single consumer (``--pool solo``), so also
    the single index writer. benchmarks/extraction_bench.py runs it beside compose's."""
    schedule = Path(settings.instance_dir) / "celerybeat-schedule"
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app:celery",
        "worker",
        "--beat",
        "--schedule",
        str(schedule),
        "--queues",
        "default,index",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--hostname",
        "embedded@%h",
    ]


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ARCHIVE_INSTANCE_DIR=str(settings.instance_dir))
    cmd = embedded_worker_command(settings)
    log = open(Path(settings.instance_dir) / "worker.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    time.sleep(0.2)
    if proc.poll() is not None:
        raise click.ClickException(f"the Celery worker did not start; see {log.name}")
    click.echo(f"Celery worker and beat started (pid {proc.pid}, log {log.name})")

    def watch() -> None:
        code = proc.wait()
        if code not in (0, -signal.SIGTERM):
            click.secho(
                f"ERROR: the Celery worker stopped (exit {code}); background jobs will "
                f"not run. See {log.name}",
                fg="red",
                err=True,
            )

    threading.Thread(target=watch, daemon=True).start()
    return proc


# --- users and departments --------------------------------------------------------


@main.group()
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
    rt = _runtime()
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
        _fail(exc)


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
    rt = _runtime()
    try:
        with rt.db.unit_of_work() as s:
            users.close_account(s, OPERATOR, _user_id(s, username), reason)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"closed {username}")


@user.command("set-roles")
@click.argument("username")
@click.argument("roles", nargs=-1, type=click.Choice(ROLES.codes))
def user_set_roles(username: str, roles: tuple[str, ...]) -> None:
    """Replace an account's roles."""
    rt = _runtime()
    try:
        with rt.db.unit_of_work() as s:
            u = users.set_roles(s, OPERATOR, _user_id(s, username), roles)
            click.echo(json.dumps(u.summary(), ensure_ascii=False))
    except DomainError as exc:
        _fail(exc)


@user.command("list")
def user_list() -> None:
    """Every account, one JSON line each."""
    rt = _runtime()
    with rt.db.unit_of_work() as s:
        for u in users.list_users(s, OPERATOR):
            click.echo(json.dumps(u.summary(), ensure_ascii=False))


@main.group()
def department() -> None:
    """Departments."""


@department.command("create")
@click.argument("code")
@click.argument("name")
def department_create(code: str, name: str) -> None:
    rt = _runtime()
    try:
        with rt.db.unit_of_work() as s:
            d = departments.create_department(s, OPERATOR, code, name)
            click.echo(f"{d.code} {d.name}")
    except DomainError as exc:
        _fail(exc)


# --- keys -----------------------------------------------------------------------------


@main.group()
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

    rt = _runtime()
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

    rt = _runtime()
    try:
        with rt.db.unit_of_work() as s:
            new, old = master_keys.rotate(s, OPERATOR, rt.vault, rewrap_later=not wait)
    except DomainError as exc:
        _fail(exc)
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

    rt = _runtime()
    try:
        with rt.db.unit_of_work() as s:
            master_keys.retire(s, OPERATOR, rt.vault, key_id)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"retired {key_id}")


@main.group()
def storage() -> None:
    """The object store."""


@storage.command("check")
def storage_check() -> None:
    """Rows without objects and objects without rows (exit 1 if any)."""
    from archive_service.vault.services import consistency

    rt = _runtime()
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


# --- search index ---------------------------------------------------------------------------


@main.group()
def search() -> None:
    """The full-text search index."""


@search.command("reindex")
def search_reindex() -> None:
    """Rebuild the index from the database and the text renditions (no re-extraction).

    Stop the index worker first, or run it on the index worker's host: the index has
    one writer at a time, and this command waits for the lock.
    """
    from archive_service.indexing.services import reindex

    rt = _runtime()
    click.echo(f"indexed {reindex(rt)} documents")


@search.command("check")
@click.option("--repair", is_flag=True, help="Index what is missing, remove what is extra.")
def search_check(repair: bool) -> None:
    """Compare the index with the database both ways (exit 1 on differences).

    Also lists the documents whose text extraction failed, by reason class
    ("failed"), and those whose retry is due ("retry_due"); --repair queues those too.
    """
    from archive_service.indexing import services as indexing

    rt = _runtime()
    if repair:
        found = indexing.repair(rt)
    else:
        with rt.db.unit_of_work() as s:
            found = indexing.check(rt, s).as_dict()
    click.echo(json.dumps(found))
    if not found["ok"] and not repair:
        sys.exit(1)


@search.command("reextract")
@click.option("--failed", "failed", is_flag=True, help="Every document whose extraction failed.")
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    help="Only failures of this reason class (repeatable): timeout, memory, parse_error, "
    "crashed, sandbox_start, unsupported.",
)
def search_reextract(failed: bool, reasons: tuple[str, ...]) -> None:
    """Queue failed text extractions again (the worker extracts, then indexes them).

    Run once after upgrading to 0006: under the prefork worker every extraction had
    failed ("sandbox_start").
    """
    from archive_service.indexing.services import reextract_failed
    from search.extract import REASONS

    if not failed:
        raise click.UsageError("say which documents: --failed")
    unknown = sorted(set(reasons) - set(REASONS))
    if unknown:
        raise click.BadParameter(
            f"{unknown}; choose from {', '.join(REASONS)}", param_hint="--reason"
        )
    rt = _runtime()
    with rt.db.unit_of_work() as s:
        ids = reextract_failed(s, OPERATOR, reasons)
    click.echo(json.dumps({"queued": len(ids), "documents": ids}))


# --- destruction records -----------------------------------------------------------------


@main.group()
def destruction() -> None:
    """Destruction records (销毁记录): export and verify their signatures."""


@destruction.command("keygen")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False))
def destruction_keygen(path: str) -> None:
    """Create the Ed25519 key that signs destruction records (0600); refuses to overwrite."""
    from archive_service.disposal.signing import new_key_pem
    from archive_service.instance import write_secret_file

    if Path(path).exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite a signing key")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_secret_file(Path(path), new_key_pem())
    click.echo(f"created {path}; mount it as ARCHIVE_SIGNING_KEY_FILE and back it up")


@destruction.command("public-key")
def destruction_public_key() -> None:
    """Print the public key that checks this service's destruction records."""
    click.echo(_runtime().signer.public_pem, nl=False)


@destruction.command("export")
@click.argument("destruction_id", type=int)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file (default stdout).")
def destruction_export(destruction_id: int, out: str | None) -> None:
    """The signed record of a completed destruction, as JSON."""
    from archive_service.disposal.records import export_record

    rt = _runtime()
    try:
        with rt.db.unit_of_work() as s:
            _dest, signed = export_record(s, OPERATOR, rt.signer, destruction_id)
    except DomainError as exc:
        _fail(exc)
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
        Path(key_path).read_text(encoding="utf-8") if key_path else _runtime().signer.public_pem
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


# --- audit ----------------------------------------------------------------------------


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit status 1 and the first broken event if altered."""
    rt = _runtime()
    with rt.db.unit_of_work() as s:
        result = audit.verify_and_record(s, OPERATOR.actor)
    click.echo(json.dumps(result.as_dict()))
    if not result.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
