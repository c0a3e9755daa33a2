"""Search benchmark: indexing speed, latency with an access filter, and quality, in one run.

Prints, per quality.md (ratios in one run, absolute figures beside their baseline):
* indexing docs/s with our analyzer vs Whoosh's StandardAnalyzer and jieba's
  ChineseAnalyzer (the baselines are timed on a slice of the same corpus);
* index size;
* p50/p95 latency of one-word and two-word Chinese queries and of exact number
  look-ups, each with a clerk's access filter (a department plus granted customers);
* recall@10 and precision@10 on ≥ 50 labelled Chinese queries, ours vs the default
  analyzer. Labels come from the generator: each query's relevant documents are
  the ones its "needle" words were planted in (decoys hold only part of a query).

The corpus is synthetic but built from real business vocabulary, company names,
contract and archive numbers, with some English. Usage::

    python benchmarks/search_bench.py [--docs 100000] [--baseline-docs 3000] [--workers 2]
"""

# ruff: noqa: S311 - seeded pseudo-random corpora, for reproducibility, not security
from __future__ import annotations

import argparse
import gc
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search import AccessFilter, IndexedDocument, SearchIndex, SearchQuery  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
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


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (n={len(ordered)})"


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def quality(
    labels: list[Labelled], top10: Callable[[str], list[int]]
) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """Macro recall@10 (found / min(10, relevant)) and precision@10 (relevant / returned,
    0 when nothing is returned), overall and per kind of query."""
    per_kind: dict[str, list[tuple[float, float]]] = {}
    for label in labels:
        got = top10(label.query)[:10]
        hit = len(set(got) & label.relevant)
        recall = hit / min(10, len(label.relevant))
        precision = hit / len(got) if got else 0.0
        per_kind.setdefault(label.kind, []).append((recall, precision))
    every = [rp for rps in per_kind.values() for rp in rps]

    def mean(rps: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.fmean(r for r, _ in rps), statistics.fmean(p for _, p in rps)

    r, p = mean(every)
    return r, p, {kind: mean(rps) for kind, rps in per_kind.items()}


def main() -> None:  # noqa: PLR0915 - one linear report
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--baseline-docs", type=int, default=3000, help="slice for baselines")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=100, help="per latency kind")
    parser.add_argument("--no-default-quality", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="search-bench-"))
    try:
        print(f"corpus: {args.docs:,} synthetic documents ...", flush=True)
        started = time.perf_counter()
        docs, labels = generate(args.docs)
        size = statistics.fmean(len(d.body.encode()) for d in docs[:2000])
        # The corpus is ~1 GB of long-lived objects: keep the garbage collector from
        # re-scanning it during every timed phase (it would slow the in-process
        # baselines, not the worker processes).
        gc.freeze()
        print(
            f"  generated in {time.perf_counter() - started:.1f} s; body ~{size:,.0f} bytes UTF-8"
        )

        # -- indexing: baselines and ours on the same slice, then ours on everything
        import jieba
        from jieba.analyse import ChineseAnalyzer
        from whoosh.analysis import StandardAnalyzer

        jieba.setLogLevel(60)
        jieba.initialize()  # its ~1.3 s load is not indexing
        sample = docs[: args.baseline_docs]
        print(f"\nindexing, docs/s on the same {len(sample):,} documents (one writer, one commit)")
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

        print(f"\nfull index: {args.docs:,} documents, {args.workers} worker processes ...")
        ix = SearchIndex(workdir / "full", key=KEY)
        started = time.perf_counter()
        ix.rebuild(docs, workers=args.workers)
        elapsed = time.perf_counter() - started
        print(f"  {args.docs / elapsed:8.0f} docs/s  ({elapsed:.0f} s)")
        print(
            f"  index size {dir_size(workdir / 'full') / 2**20:,.0f} MiB "
            f"({dir_size(workdir / 'full') / args.docs / 1024:.1f} KiB per document)"
        )

        # -- latency with a clerk's access filter
        rng = random.Random(3)
        clerk = AccessFilter(
            departments=frozenset({"SALES"}),
            customers=frozenset(c for c in range(1, 2001) if c % 500 == 7),
            documents=frozenset(rng.sample(range(1, args.docs + 1), 20)),
        )
        visible = [d for d in docs if d.department == "SALES"]
        one = [word(rng) for _ in range(args.queries)]
        two = [f"{word(rng)} {word(rng)}" for _ in range(args.queries)]
        numbers = [rng.choice(visible).numbers[0] for _ in range(args.queries // 2)]
        numbers += [rng.choice(docs).identifiers[0] for _ in range(args.queries // 2)]
        warm = [word(rng) for _ in range(20)]
        for text in warm:  # load per-segment arrays once, as a running service has
            ix.search(SearchQuery(text=text, access=clerk))
        print(
            f"\nlatency, {args.docs:,} documents, clerk's access filter "
            f"(department SALES + {len(clerk.customers)} customers + 20 documents)"
        )
        for name, queries in (
            ("one Chinese word", one),
            ("two Chinese words", two),
            ("exact number", numbers),
        ):
            samples = [
                timed(partial(ix.search, SearchQuery(text=t, access=clerk))) for t in queries
            ]
            print(f"  {name:20s} {percentiles(samples)}")
        listing = [timed(lambda: ix.search(SearchQuery(text="", access=clerk))) for _ in range(20)]
        print(f"  {'list, by date':20s} {percentiles(listing)}")

        # -- quality on the labelled queries
        everyone = AccessFilter(everything=True)

        def ours(text: str) -> list[int]:
            return [
                h.id for h in ix.search(SearchQuery(text=text, access=everyone, per_page=10)).hits
            ]

        print(
            f"\nquality, {len(labels)} labelled Chinese queries "
            "(recall@10 / precision@10, macro average)"
        )
        r, p, kinds = quality(labels, ours)
        print(f"  {'ours':32s} recall {r:.3f}   precision {p:.3f}")
        for kind, (kr, kp) in kinds.items():
            print(f"    {kind:30s} recall {kr:.3f}   precision {kp:.3f}")
        if not args.no_default_quality:
            print("  building the StandardAnalyzer index of the full corpus ...", flush=True)
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
