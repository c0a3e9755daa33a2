"""Search on several web machines: what a replica of the index costs, in one run.

Builds the search benchmark's synthetic corpus (``--docs``, default 10,000) into the
indexer's index, publishing it to a shared place (a folder, and S3 on a moto server started
here unless ``--no-s3``), syncs a replica from it, then for ``--updates`` single-document
writes prints: the write with its publish against the same write on an index that does not
publish (the baseline), the bytes uploaded and downloaded, and the replica's sync time.
Then the search latency on the replica against the indexer's own index (same queries,
interleaved, same process): the ratio is the figure.

    python benchmarks/search_replica_bench.py [--docs 10000] [--updates 30] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_corpus import generate, word  # noqa: E402
from storage_bench import moto_server  # noqa: E402

from archive_service.backup.target import FolderTarget, S3Place, S3Target, Target  # noqa: E402
from search import AccessFilter, IndexedDocument, SearchIndex, SearchQuery  # noqa: E402
from search.publish import PublishedIndex, Publisher  # noqa: E402
from search.replica import SearchReplica  # noqa: E402

KEY = bytes(range(32))


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(samples: list[float]) -> str:
    return (
        f"p50 {pct(samples, 0.5) * 1e3:7.2f} ms  p95 {pct(samples, 0.95) * 1e3:7.2f} ms  "
        f"max {max(samples) * 1e3:7.2f} ms"
    )


def kib(samples: list[int]) -> str:
    return (
        f"median {statistics.median(samples) / 1024:8.1f} KiB  max {max(samples) / 1024:8.1f} KiB"
    )


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(
    label: str, shelf: Target, docs: list[IndexedDocument], args: argparse.Namespace, work: Path
) -> None:
    base, extra = docs[: args.docs - args.updates], docs[args.docs - args.updates :]
    print(f"\n== shared place: {label}")
    plain = SearchIndex(work / "plain", key=KEY)
    plain.rebuild(base, workers=args.workers)
    primary = PublishedIndex(SearchIndex(work / "indexer", key=KEY), Publisher(shelf))
    started = time.perf_counter()
    primary.rebuild(base, workers=args.workers)
    rebuild_s = time.perf_counter() - started
    full = primary.publish()
    replica = SearchReplica(work / "web", key=KEY, shelf=shelf, check_seconds=5)
    sync_s = timed(replica.sync)
    print(
        f"  rebuild + publish of {len(base):,} docs: {rebuild_s:.1f} s; generation "
        f"{full.size / 2**20:.1f} MiB in {len(full.files)} files"
    )
    print(
        f"  first sync of a replica (whole generation): {sync_s:.2f} s, "
        f"{replica.status().fetched_bytes / 2**20:.1f} MiB"
    )

    write_plain, write_pub, uploaded, fetched, syncs = [], [], [], [], []
    for doc in extra:
        write_plain.append(timed(partial(plain.update, [doc])))
        write_pub.append(timed(partial(primary.update, [doc])))
        uploaded.append(primary.publisher.last_uploaded)
        syncs.append(timed(replica.sync))
        fetched.append(replica.status().fetched_bytes)
    removal = timed(lambda: primary.remove([extra[0].id]))
    removal_sync = timed(replica.sync)
    print(f"  {len(extra)} single-document updates:")
    print(f"    write, no publishing (baseline)  {ms(write_plain)}")
    print(f"    write + publish                  {ms(write_pub)}")
    print(f"    ratio p50 {pct(write_pub, 0.5) / pct(write_plain, 0.5):.2f} x the baseline")
    print(f"    uploaded per update              {kib(uploaded)}")
    print(f"    replica sync per update          {ms(syncs)}")
    print(f"    downloaded per update            {kib(fetched)}")
    print(
        f"    a removal: write + publish {removal * 1e3:.1f} ms, sync {removal_sync * 1e3:.1f} ms, "
        f"{replica.status().fetched_bytes / 1024:.1f} KiB"
    )
    if args.latency:
        latency(primary.index, replica, docs, args)
    for name in ("plain", "indexer", "web"):
        shutil.rmtree(work / name, ignore_errors=True)


def latency(
    index: SearchIndex, replica: SearchReplica, docs: list, args: argparse.Namespace
) -> None:
    rng = random.Random(3)  # noqa: S311 - a seeded choice of queries, not security
    clerk = AccessFilter(
        departments=frozenset({"SALES"}),
        customers=frozenset(c for c in range(1, 2001) if c % 500 == 7),
        documents=frozenset(rng.sample(range(1, len(docs) + 1), 20)),
    )
    queries = [word(rng) for _ in range(args.queries // 2)]
    queries += [f"{word(rng)} {word(rng)}" for _ in range(args.queries // 2)]
    for text in queries[:20]:  # warm both, as a running service is
        index.search(SearchQuery(text=text, access=clerk))
        replica.search(SearchQuery(text=text, access=clerk))
    on_primary, on_replica = [], []
    for text in queries:  # interleaved: the machine's noise hits both alike
        q = SearchQuery(text=text, access=clerk)
        on_primary.append(timed(partial(index.search, q)))
        on_replica.append(timed(partial(replica.search, q)))
    print(f"  search, {len(queries)} one- and two-word queries, clerk's filter:")
    print(f"    indexer's own index (baseline)   {ms(on_primary)}")
    print(f"    replica (checks every 5 s)       {ms(on_replica)}")
    print(
        f"    ratio p50 {pct(on_replica, 0.5) / pct(on_primary, 0.5):.2f}, "
        f"p95 {pct(on_replica, 0.95) / pct(on_primary, 0.95):.2f} x the baseline"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-s3", action="store_true", help="skip S3 on a moto server")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    docs, _labels = generate(args.docs)
    work = Path(tempfile.mkdtemp(prefix="replica-bench-"))
    try:
        args.latency = True
        run("folder", FolderTarget(work / "shared"), docs, args, work)
        if not args.no_s3:
            args.latency = False
            with moto_server() as endpoint:
                shelf = S3Target(S3Place(endpoint, "k", "s", False, "search-share", "ix/"))
                shelf.ensure_ready()
                run(f"S3 (moto at {endpoint})", shelf, docs, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
