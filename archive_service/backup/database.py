"""A consistent copy of the database, and loading one into an empty database.

SQLite: the online backup API (a page-by-page copy that sees one committed state).
PostgreSQL: ``pg_dump`` (custom format) of a snapshot exported from a repeatable-read
transaction; the same transaction reads which objects that state references and where
the audit chain ends, so the parts of a backup describe one moment.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

_OBJECTS = "SELECT object_name, stored_size FROM stored_objects WHERE wrapped_key IS NOT NULL"
_HEAD = "SELECT last_seq FROM audit_chain WHERE id = 1"


class DatabaseCopyFailed(Exception):
    """pg_dump or pg_restore (or the SQLite copy) failed; the message says why."""


@dataclass
class DumpInfo:
    kind: str  # "sqlite" | "postgresql"
    last_seq: int = 0  # the audit chain's head in this state
    objects: dict[str, int] = field(default_factory=dict)  # live object name → stored size


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise DatabaseCopyFailed("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI (no password in it: that goes in the environment) and the environment."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise DatabaseCopyFailed(f"{argv[0]} is not installed on this machine") from None
    if done.returncode != 0:
        raise DatabaseCopyFailed(f"{argv[0]} failed: {done.stderr.strip()[-2000:]}")


def _read_state(cursor: Any, info: DumpInfo) -> DumpInfo:
    """The live objects and the chain's head, as the copy's state holds them (a DB-API
    cursor of sqlite3 or psycopg)."""
    cursor.execute(_OBJECTS)
    info.objects = {str(n): int(s) for n, s in cursor.fetchall()}
    cursor.execute(_HEAD)
    row = cursor.fetchone()
    info.last_seq = int(row[0]) if row else 0
    return info


def dump(url: str, out: Path) -> DumpInfo:
    """Write a consistent copy of the database at ``url`` to ``out``."""
    if kind_of(url) == "sqlite":
        src = sqlite3.connect(_sqlite_path(url))
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)
            return _read_state(dst.cursor(), DumpInfo("sqlite"))
        finally:
            dst.close()
            src.close()
    import psycopg

    uri, env = _libpq(url)
    with psycopg.connect(uri) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        info = _read_state(conn.cursor(), DumpInfo("postgresql"))
        # pg_dump reads the very state this transaction sees, while it stays open.
        _run(
            ["pg_dump", "--format=custom", f"--snapshot={row[0]}", f"--file={out}", uri],
            env,
        )
        conn.rollback()
    return info


def is_empty(url: str) -> bool:
    """True when the database holds no table at all (a new one)."""
    if kind_of(url) == "sqlite":
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return True
    engine = create_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def load(url: str, dump_file: Path, kind: str) -> None:
    """Load a copy written by :func:`dump` into the (empty) database at ``url``."""
    if kind != kind_of(url):
        raise DatabaseCopyFailed(
            f"this backup holds a {kind} database; ARCHIVE_DATABASE_URL names a {kind_of(url)} one"
        )
    if kind == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".restoring")
        shutil.copyfile(dump_file, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return
    uri, env = _libpq(url)
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={uri}",
            str(dump_file),
        ],
        env,
    )
