"""Cost of intake's structure check (archive/containers.py) beside what storing costs anyway.

Baseline: SHA-256 of the same file (the vault hashes every stored file). Prints both times
and their ratio for a large PDF and a large DOCX, from a temporary file as uploads are.

    PYTHONPATH=. .venv/bin/python benchmarks/intake_structure_bench.py [size_mb]
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from functools import partial
from typing import IO

from archive_service.archive import containers
from archive_service.archive.intake import ZIP_OFFICE
from tests import samples


def _time(fn: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _sha(f: IO[bytes]) -> None:
    f.seek(0)
    h = hashlib.sha256()
    while chunk := f.read(1024 * 1024):
        h.update(chunk)
    f.seek(0)


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryFile() as pdf, tempfile.TemporaryFile() as docx:
        base = samples.pdf()
        pdf.write(base[:9] + b"%" + b"\x00" * (size << 20) + b"\n" + base[9:])
        with zipfile.ZipFile(docx, "w", zipfile.ZIP_STORED) as z:
            z.writestr("[Content_Types].xml", zipfile.ZipFile(_docx()).read("[Content_Types].xml"))
            z.writestr("word/document.xml", b"<w:document/>")
            z.writestr("word/media/scan.bin", b"\x00" * (size << 20))
        cases: list[tuple[str, IO[bytes], str]] = [
            ("pdf", pdf, containers.PDF),
            ("docx", docx, ZIP_OFFICE[".docx"]),
        ]
        for name, f, kind in cases:
            f.seek(0)
            check = _time(partial(containers.check, f, kind))
            sha = _time(partial(_sha, f))
            print(
                f"{name} {size} MiB: check {check * 1000:.1f} ms, sha256 {sha * 1000:.1f} ms, "
                f"ratio {check / sha:.3f}"
            )


def _docx() -> IO[bytes]:
    import io

    return io.BytesIO(samples.docx())


if __name__ == "__main__":
    main()
