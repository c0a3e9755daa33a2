"""A web import job's folder (archive_service.archive.import_jobs): its status and report
as small JSON files, each replaced at once so a reader never sees half of one, and the
job's lock, held by the process working on it (released by the system if it dies)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive_service.archive.import_check import Problem
from archive_service.archive.importing import Report


def write_report(folder: Path, report: Report) -> None:
    lines = [[p.row, p.column, p.message, "problem"] for p in report.problems]
    lines += [[p.row, p.column, p.message, "note"] for p in report.notes]
    write(folder, "report.json", {"lines": lines})


def read_report(folder: Path) -> list[Problem]:
    try:
        data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [Problem(int(r), str(c), str(m)) for r, c, m, _kind in data.get("lines", [])]


def read(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / "status.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def update(folder: Path, **changes: Any) -> None:
    status = read(folder) or {}
    status.update(changes, updated_at=now())
    write(folder, "status.json", status)


def write(folder: Path, name: str, data: dict[str, Any]) -> None:
    """Replace the file at once: a reader sees the old state or the new, never half."""
    tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"  # one per writer, threads too
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / name)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def locked(folder: Path, *, wait: bool) -> Iterator[bool]:
    """The job's lock (held by the process working on it; released if it dies)."""
    fd = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextlib.contextmanager
def running(folder: Path) -> Iterator[dict[str, Any] | None]:
    """The job's status while this worker holds its lock: None when the job is gone, state
    ``busy`` while another worker has it (a message delivered twice: the first goes on)."""
    if not folder.is_dir():
        yield None
        return
    with locked(folder, wait=False) as got:
        yield read(folder) if got else {"state": "busy"}
