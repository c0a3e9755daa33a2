"""``archive init`` and ``archive run``: the instance, its database and first admin, and the
one-command start (web server, Celery worker and beat on the embedded default)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from archive_service.accounts.bootstrap import bootstrap
from archive_service.cli.common import fail
from archive_service.config import Settings
from archive_service.errors import DomainError
from archive_service.indexing.later import rebuild_later_if_needed
from archive_service.instance import ensure_instance
from archive_service.migrate import upgrade
from archive_service.runtime import Runtime, build_runtime
from archive_service.serving import confine_temp_files, waitress_options
from workers.sender import connect


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
        # An index of before keyed terms (or another key's) is rebuilt by the index worker
        # as soon as it runs; search answers 503 until then.
        rebuild_later_if_needed(s, rt.indexing.index)
    return rt, generated


@click.command()
def init() -> None:
    """Create or migrate the database and the first admin account."""
    settings = Settings.from_env()
    try:
        rt, generated = initialise(settings)
    except DomainError as exc:
        fail(exc)
    rt.close()
    click.echo(f"instance: {settings.instance_dir}")
    if generated:
        click.echo(f"admin account created: username 'admin', password '{generated}' (shown once)")
    click.echo("database is up to date")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Do not start the Celery worker and beat.")
def run(host: str, port: int, threads: int, no_worker: bool) -> None:
    """Start everything on this machine: web server, Celery worker and beat."""
    import waitress

    from archive_service.app import create_app

    settings = Settings.from_env()
    confine_temp_files(settings)  # before anything spools: waitress, uploads, the worker
    try:
        rt, generated = initialise(settings)
    except DomainError as exc:
        fail(exc)
    if settings.embedded:
        click.secho(
            "WARNING: embedded default — secrets are generated into "
            f"{settings.instance_dir} (mode 0600). Back this folder up; "
            "production mounts its keys instead.",
            fg="yellow",
            err=True,
        )
    app = create_app(settings, runtime=rt)
    # Bind first: on a busy port nothing else is started (no worker is left behind), and
    # the printed URL answers at once.
    try:
        server = waitress.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="archive",
            **waitress_options(settings),
        )
    except OSError as exc:
        rt.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); is another server using "
            "the port? Choose another with --port. Nothing was started."
        ) from None
    worker: subprocess.Popen[bytes] | None = None

    def _stop(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        worker = None if no_worker else _start_worker(settings)
        url = f"http://{host}:{port}/"
        click.echo(f"Customer archive service running at {url}")
        if generated:
            click.echo(
                f"Admin account: username 'admin', password '{generated}' (shown once; change it)"
            )
        else:
            click.echo("Admin account: 'admin' (password as set before)")
        sys.stdout.flush()
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        # On any way out — a stop, a failed start, an error — the worker goes too.
        server.close()
        if worker is not None:
            stop_worker(worker)
        rt.close()


def stop_worker(worker: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop the worker and what it started (beat): a warm shutdown, then a kill of its
    whole process group."""
    if worker.poll() is None:
        worker.terminate()
    try:
        worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(worker.pid, signal.SIGKILL)  # anything of its group still running


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
    # A process group of its own: stop_worker can end it with what it started (beat), and
    # a Ctrl-C in the terminal reaches only this process, which stops the worker in turn.
    proc = subprocess.Popen(  # noqa: S603
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0
    )
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
