"""A hostile file cannot flood the logs: the sandbox child writes at most a bounded number of
parser warnings per document, each line cut short, and one line counting the rest."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from search.extract import REASONS, _extract_in_child, extract
from search.sandbox import child_command, child_request
from search.sandbox_child import MAX_LINE_CHARS, MAX_LOG_LINES
from tests import samples


def _child_stderr(fn: Callable[..., Any], *args: object) -> list[str]:
    """Run one call in the real sandbox child, as the sandbox starts it; its stderr lines."""
    done = subprocess.run(  # noqa: S603 - our interpreter, our script
        child_command(),
        input=child_request(fn, *args, timeout=120, memory_mb=1024),
        capture_output=True,
        timeout=180,
        check=True,
    )
    return done.stderr.decode("utf-8", "replace").splitlines()


def test_a_pdf_that_makes_pypdf_warn_thousands_of_times_writes_a_bounded_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hostile.pdf"
    path.write_bytes(samples.pdf_that_warns())
    lines = _child_stderr(_extract_in_child, str(path), "application/pdf", 100_000)
    assert len(lines) <= MAX_LOG_LINES + 1, len(lines)
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert lines[-1].endswith("further parser warnings suppressed")
    assert int(lines[-1].split()[0]) > 1000  # pypdf did warn, once per broken object


def warn_many(n: int) -> int:
    """Runs in the child: ``n`` warnings through the warnings module, from distinct places."""
    for i in range(n):
        warnings.warn_explicit(f"broken object {i} " + "x" * 1000, UserWarning, "parser.py", i)
    return n


def test_warnings_module_output_is_bounded_too() -> None:
    lines = _child_stderr(warn_many, 500)
    assert len(lines) == MAX_LOG_LINES + 1
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert lines[-1] == f"{500 - MAX_LOG_LINES} further parser warnings suppressed"


def test_the_hostile_pdf_is_still_extracted_or_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "hostile.pdf"
    path.write_bytes(samples.pdf_that_warns())
    result = extract(path, "application/pdf", timeout=120)
    assert result.error is None or result.reason in REASONS
