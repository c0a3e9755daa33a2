"""Search benchmark: indexing speed, latency with an access filter, and quality, in one run.

Prints, per quality.md (ratios in one run, absolute figures beside their baseline):
* indexing docs/s with our analyzer vs Whoosh's StandardAnalyzer and jieba's
  ChineseAnalyzer (the baselines are timed on a slice of the same corpus);
* for each corpus size of ``--sizes``: index size, and p50/p95 latency per query class
  (one Chinese word, two words, a quoted phrase, a mixed Chinese/Latin word, an exact
  number, the empty box) with a clerk's access filter, for our engine with its
  positions side files (``side_positions`` on), the same index read without them
  (off: the baseline), and Tantivy over the same corpus (the ceiling, when installed;
  ``search_tantivy.py``); then p95 per class and size side by side;
* recall@10 and precision@10 on ≥ 50 labelled Chinese queries, ours vs the default
  analyzer, at the largest size. Labels come from the generator: each query's relevant
  documents are the ones its "needle" words were planted in (decoys hold only part of a
  query); the ``A -B OR C`` queries also count documents holding B that came back.

The corpus is synthetic but built from real business vocabulary, company names,
contract and archive numbers, with some English. Usage::

    python benchmarks/search_bench.py [--sizes 10000,30000,100000] [--baseline-docs 3000]
        [--workers 2] [--queries 100] [--no-tantivy] [--no-baselines]
"""

# ruff: noqa: S311 - seeded pseudo-random corpora, for reproducibility, not security
from __future__ import annotations

import argparse
import gc
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search import AccessFilter, IndexedDocument, SearchIndex, SearchQuery  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import search_tantivy  # noqa: E402
from search_corpus import (  # noqa: E402
    Labelled,
    generate,
    word,
)

# The index's term key: any 32 bytes (terms are keyed HMACs; see docs/search.md).
KEY = bytes(range(32))

# --------------------------------------------------------------------------- measuring


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def baseline_docs_per_s(docs: list[IndexedDocument], analyzer: object, directory: Path) -> float:
    """Plain Whoosh: a TEXT schema with ``analyzer``, one writer, one commit."""
    from whoosh import fields, index

    text = fields.TEXT(analyzer=analyzer)
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True), title=text, body=text, customer_name=text
    )
    directory.mkdir(parents=True)
    ix = index.create_in(str(directory), schema)
    started = time.perf_counter()
    writer = ix.writer(limitmb=256)
    for doc in docs:
        writer.add_document(
            id=str(doc.id), title=doc.title, body=doc.body, customer_name=doc.customer_name
        )
    writer.commit()
    return len(docs) / (time.perf_counter() - started)


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def percentiles(samples: list[float]) -> str:
    p50, p95 = p50_p95(samples)
    return f"p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (n={len(samples)})"


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def quality(
    labels: list[Labelled], top10: Callable[[str], list[int]]
) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """Macro recall@10 (found / min(10, relevant)) and precision@10 (relevant / returned,
    0 when nothing is returned), overall and per kind of query. A forbidden document
    returned (one holding an excluded word) is reported and fails the run."""
    per_kind: dict[str, list[tuple[float, float]]] = {}
    for label in labels:
        got = top10(label.query)[:10]
        leaked = set(got) & label.forbidden
        if leaked:
            raise SystemExit(f"{label.query!r} returned documents it excludes: {sorted(leaked)}")
        hit = len(set(got) & label.relevant)
        recall = hit / min(10, len(label.relevant))
        precision = hit / len(got) if got else 0.0
        per_kind.setdefault(label.kind, []).append((recall, precision))
    every = [rp for rps in per_kind.values() for rp in rps]

    def mean(rps: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.fmean(r for r, _ in rps), statistics.fmean(p for _, p in rps)

    r, p = mean(every)
    return r, p, {kind: mean(rps) for kind, rps in per_kind.items()}


# --------------------------------------------------------------------------- query classes

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{6,}")
_MIXED = (re.compile(r"编号HT-\d{4}-\d{3}"), re.compile(r"\d{4}年\d{1,2}月"))


def query_classes(
    rng: random.Random, docs: list[IndexedDocument], visible: list[IndexedDocument], n: int
) -> dict[str, list[str]]:
    """The queries of each class, drawn from the corpus: words with its Zipf frequencies,
    phrases and mixed words as clerks copy them from documents they may open."""

    def from_visible(pattern: re.Pattern[str]) -> str:
        while True:
            found = pattern.findall(rng.choice(visible).body)
            if found:
                return str(rng.choice(found))

    def phrase() -> str:
        run = from_visible(_CJK_RUN)
        size = rng.randint(4, min(8, len(run)))
        start = rng.randrange(len(run) - size + 1)
        return f'"{run[start : start + size]}"'

    numbers = [rng.choice(visible).numbers[0] for _ in range(n // 2)]
    numbers += [rng.choice(docs).identifiers[0] for _ in range(n - n // 2)]
    return {
        "one Chinese word": [word(rng) for _ in range(n)],
        "two Chinese words": [f"{word(rng)} {word(rng)}" for _ in range(n)],
        "quoted phrase": [phrase() for _ in range(n)],
        "mixed Chinese/Latin": [from_visible(_MIXED[i % 2]) for i in range(n)],
        "exact number": numbers,
        "list, by date": [""] * max(10, n // 5),
    }


def latency(  # noqa: PLR0913 - one size's measurement
    size: int,
    docs: list[IndexedDocument],
    args: argparse.Namespace,
    workdir: Path,
    summary: dict[tuple[str, str], dict[int, float]],
) -> SearchIndex:
    """Build the index of ``docs`` and time every query class on, off and with Tantivy."""
    print(f"\n=== {size:,} documents ===", flush=True)
    directory = workdir / f"ours-{size}"
    ix = SearchIndex(directory, key=KEY)
    started = time.perf_counter()
    ix.rebuild(docs, workers=args.workers)
    elapsed = time.perf_counter() - started
    positions = sum(p.stat().st_size for p in directory.glob("*.sidepos"))
    total = dir_size(directory)
    print(
        f"  ours: indexed at {size / elapsed:,.0f} docs/s ({elapsed:.0f} s, {args.workers} "
        f"workers); {total / 2**20:,.0f} MiB ({total / size / 1024:.1f} KiB per document), "
        f"of which positions files {positions / 2**20:,.0f} MiB"
    )
    off = SearchIndex(directory, key=KEY, side_positions=False)
    engines: dict[str, Callable[[str, AccessFilter], int]] = {
        "on": lambda t, a: ix.search(SearchQuery(text=t, access=a)).total,
        "off": lambda t, a: off.search(SearchQuery(text=t, access=a)).total,
    }
    if search_tantivy.available() and not args.no_tantivy:
        tv = search_tantivy.TantivyIndex(workdir / f"tantivy-{size}")
        started = time.perf_counter()
        tv.build(docs, threads=args.workers)
        elapsed = time.perf_counter() - started
        print(
            f"  tantivy: indexed at {size / elapsed:,.0f} docs/s ({elapsed:.0f} s); "
            f"{tv.size() / 2**20:,.0f} MiB"
        )
        engines["tantivy"] = lambda t, a: tv.search(t, a)[0]
    elif not args.no_tantivy:
        print("  tantivy: not installed (pip install tantivy==0.27.0): no ceiling printed")
    rng = random.Random(3)
    clerk = AccessFilter(
        departments=frozenset({"SALES"}),
        customers=frozenset(c for c in range(1, 2001) if c % 500 == 7),
        documents=frozenset(rng.sample(range(1, size + 1), 20)),
    )
    visible = [d for d in docs if d.department == "SALES"]
    classes = query_classes(rng, docs, visible, args.queries)
    for text in [word(rng) for _ in range(20)]:  # per-segment arrays loaded once, as a service
        for run in engines.values():
            run(text, clerk)
    print(
        f"  latency, clerk's access filter (department SALES + {len(clerk.customers)} "
        "customers + 20 documents); each query timed once per engine, engines interleaved"
    )
    differ = 0
    for name, queries in classes.items():
        samples: dict[str, list[float]] = {engine: [] for engine in engines}
        for text in queries:
            totals = {}
            for engine, run in engines.items():
                started = time.perf_counter()
                totals[engine] = run(text, clerk)
                samples[engine].append((time.perf_counter() - started) * 1000)
            differ += totals["on"] != totals["off"]
        line = []
        for engine, times in samples.items():
            p50, p95 = p50_p95(times)
            summary.setdefault((name, engine), {})[size] = p95
            line.append(f"{engine} p50 {p50:6.1f} p95 {p95:6.1f}")
        on95, off95 = summary[(name, "on")][size], summary[(name, "off")][size]
        print(f"    {name:20s} " + " | ".join(line) + f" ms   off/on p95 {off95 / on95:5.1f}x")
    if differ:
        raise SystemExit(f"{differ} queries counted differently with side_positions on and off")
    print("  totals identical with side_positions on and off for every query")
    return ix


def print_summary(summary: dict[tuple[str, str], dict[int, float]], sizes: list[int]) -> None:
    print("\np95 (ms) per class and size; growth = p95 at the largest size / at the smallest")
    print(f"  {'class':20s} {'engine':8s} " + "".join(f"{s:>10,}" for s in sizes) + "   growth")
    for (name, engine), by_size in summary.items():
        cells = "".join(f"{by_size.get(s, float('nan')):10.1f}" for s in sizes)
        first, last = by_size.get(sizes[0]), by_size.get(sizes[-1])
        growth = f"{last / first:6.1f}x" if first and last else ""
        print(f"  {name:20s} {engine:8s} {cells}   {growth}")
    if len(sizes) > 1:
        print(f"  (documents grew {sizes[-1] / sizes[0]:.1f}x: sub-linear is growth below that)")


def main() -> None:  # noqa: PLR0915 - one linear report
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000", help="corpus sizes, comma-separated")
    parser.add_argument("--docs", type=int, help="one size (the same as --sizes N)")
    parser.add_argument("--baseline-docs", type=int, default=3000, help="slice for baselines")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=100, help="per latency class")
    parser.add_argument("--no-default-quality", action="store_true")
    parser.add_argument("--no-baselines", action="store_true", help="skip jieba/Standard")
    parser.add_argument("--no-tantivy", action="store_true")
    args = parser.parse_args()
    sizes = [args.docs] if args.docs else sorted(int(s) for s in args.sizes.split(","))

    workdir = Path(tempfile.mkdtemp(prefix="search-bench-"))
    try:
        largest = sizes[-1]
        print(f"corpus: {largest:,} synthetic documents (smaller sizes: its first ones) ...")
        started = time.perf_counter()
        docs, labels = generate(largest)
        size = statistics.fmean(len(d.body.encode()) for d in docs[:2000])
        # The corpus is ~1 GB of long-lived objects: keep the garbage collector from
        # re-scanning it during every timed phase (it would slow the in-process
        # baselines, not the worker processes).
        gc.freeze()
        print(
            f"  generated in {time.perf_counter() - started:.1f} s; body ~{size:,.0f} bytes UTF-8"
        )

        if not args.no_baselines:
            # -- indexing: baselines and ours on the same slice
            import jieba
            from jieba.analyse import ChineseAnalyzer
            from whoosh.analysis import StandardAnalyzer

            jieba.setLogLevel(60)
            jieba.initialize()  # its ~1.3 s load is not indexing
            sample = docs[: args.baseline_docs]
            print(f"\nindexing, docs/s on the same {len(sample):,} documents (one writer)")
            rates = {
                "Whoosh StandardAnalyzer": baseline_docs_per_s(
                    sample, StandardAnalyzer(), workdir / "std"
                ),
                "jieba ChineseAnalyzer": baseline_docs_per_s(
                    sample, ChineseAnalyzer(), workdir / "jieba"
                ),
            }
            for workers in (0, args.workers):
                ix = SearchIndex(workdir / f"ours{workers}", key=KEY)
                started = time.perf_counter()
                ix.rebuild(sample, workers=workers)
                label = "ours, 1 process" if workers <= 1 else f"ours, {workers} worker processes"
                rates[label] = len(sample) / (time.perf_counter() - started)
            jieba_rate = rates["jieba ChineseAnalyzer"]
            for name, rate in rates.items():
                print(f"  {name:32s} {rate:8.0f} docs/s   {rate / jieba_rate:5.2f} x jieba")

        summary: dict[tuple[str, str], dict[int, float]] = {}
        for n in sizes:
            ix = latency(n, docs[:n], args, workdir, summary)
            if n != largest:
                shutil.rmtree(workdir / f"ours-{n}", ignore_errors=True)
                shutil.rmtree(workdir / f"tantivy-{n}", ignore_errors=True)
        print_summary(summary, sizes)

        # -- quality on the labelled queries, at the largest size
        everyone = AccessFilter(everything=True)

        def ours(text: str) -> list[int]:
            return [
                h.id for h in ix.search(SearchQuery(text=text, access=everyone, per_page=10)).hits
            ]

        print(
            f"\nquality, {len(labels)} labelled Chinese queries at {largest:,} documents "
            "(recall@10 / precision@10, macro average)"
        )
        r, p, kinds = quality(labels, ours)
        print(f"  {'ours':32s} recall {r:.3f}   precision {p:.3f}")
        for kind, (kr, kp) in kinds.items():
            print(f"    {kind:30s} recall {kr:.3f}   precision {kp:.3f}")
        if not args.no_default_quality:
            print("  building the StandardAnalyzer index of the full corpus ...", flush=True)
            from whoosh.analysis import StandardAnalyzer
            from whoosh.qparser import MultifieldParser

            rate = baseline_docs_per_s(docs, StandardAnalyzer(), workdir / "std-full")
            from whoosh import index as windex

            std = windex.open_dir(str(workdir / "std-full"))
            qp = MultifieldParser(["title", "body", "customer_name"], std.schema)
            with std.searcher() as searcher:

                def default(text: str) -> list[int]:
                    hits = searcher.search(qp.parse(text), limit=10)
                    return [int(h["id"]) for h in hits]

                r, p, kinds = quality(labels, default)
            print(
                f"  {'Whoosh StandardAnalyzer':32s} recall {r:.3f}   precision {p:.3f}"
                f"   (indexed at {rate:.0f} docs/s)"
            )
            for kind, (kr, kp) in kinds.items():
                print(f"    {kind:30s} recall {kr:.3f}   precision {kp:.3f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
