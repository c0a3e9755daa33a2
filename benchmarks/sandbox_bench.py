"""One limited child per file: forked by the fork server beside a fresh interpreter, in one run.

For each case — a call that does nothing, the text of a small PDF, of a DOCX, and the
structure probe of the PDF (what intake checks) — the same call is timed through
``search.sandbox.run_limited`` both ways, alternating, N times each:

* fresh: ``python -I search/sandbox_child.py`` per call (``USE_FORK_SERVER = False``);
* fork server: a fork of the process that already imported the parsers.

Printed per case: median and p95 per call in milliseconds and the ratio fresh / forked.
Both run on this process's import path with the same limits. Usage::

    python benchmarks/sandbox_bench.py [--calls 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search import sandbox  # noqa: E402
from search.extract import DOCX, _extract_in_child  # noqa: E402
from search.fileprobe import PDF, _probe_in_child  # noqa: E402
from tests import samples  # noqa: E402


def _cases(folder: Path) -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    pdf = folder / "营业执照.pdf"
    pdf.write_bytes(samples.pdf_zh("营业执照 统一社会信用代码 91310000MA1FL0000X"))
    docx = folder / "合同.docx"
    docx.write_bytes(samples.word("甲方 华夏贸易有限公司", "乙方 上海某某科技有限公司"))
    return {
        "nothing": (os.getpid, ()),  # a module-level function the child can import
        "pdf text": (_extract_in_child, (str(pdf), "application/pdf", 100_000)),
        "docx text": (_extract_in_child, (str(docx), DOCX, 100_000)),
        "pdf probe": (_probe_in_child, (str(pdf), PDF)),
    }


def _timed(fn: Callable[..., Any], args: tuple[Any, ...], forked: bool) -> float:
    sandbox.USE_FORK_SERVER = forked
    started = time.perf_counter()
    sandbox.run_limited(fn, *args, timeout=60)
    return (time.perf_counter() - started) * 1000


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    calls = parser.parse_args().calls
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(Path(tmp))
        for fn, args in cases.values():  # warm: the server has imported each module
            _timed(fn, args, True)
            _timed(fn, args, False)
        print(f"{'case':<10} {'fresh ms (p50/p95)':>20} {'forked ms (p50/p95)':>20} {'ratio':>7}")
        for name, (fn, args) in cases.items():
            fresh: list[float] = []
            forked: list[float] = []
            for _ in range(calls):
                fresh.append(_timed(fn, args, False))
                forked.append(_timed(fn, args, True))
            a, b = statistics.median(fresh), statistics.median(forked)
            print(
                f"{name:<10} {a:>11.1f} / {_p95(fresh):<7.1f}"
                f" {b:>11.1f} / {_p95(forked):<7.1f} {a / b:>6.1f}×"
            )


if __name__ == "__main__":
    main()
