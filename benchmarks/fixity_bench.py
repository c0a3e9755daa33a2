"""Fixity benchmark: the sweep's throughput at an unlimited rate vs a raw decrypt of the
same objects (``EncryptedStore.open`` read to the end), as a ratio in one run (target
≥ 0.8×). The sweep adds its database work: reading rows, saving the cursor each second,
the round's audit event. The SHA-256 of the plaintext that a check must compute and a raw
decrypt does not is shown apart (``EncryptedStore.verify`` alone), so the sweep's own
cost is the second ratio.

An embedded instance (SQLite, local folder) in a temporary folder; runs are interleaved
and repeated (``--reps``), medians compared. Usage::

    python benchmarks/fixity_bench.py [--objects 200] [--size-kib 1024] [--reps 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from archive_service.config import Settings  # noqa: E402
from archive_service.fixity.rules import Plan  # noqa: E402
from archive_service.fixity.services import Sweeper  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.runtime import build_runtime  # noqa: E402
from archive_service.vault.models import StoredObject  # noqa: E402
from storage.keyring import Keyring  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=200)
    ap.add_argument("--size-kib", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        Keyring.generate().save(instance / "keyring.json")
        settings = Settings(instance_dir=instance).with_defaults()
        upgrade(settings.database_url)
        rt = build_runtime(settings)
        for _ in range(args.objects):
            with rt.db.unit_of_work() as s:
                rt.vault.put(s, io.BytesIO(os.urandom(args.size_kib * 1024)))
        with rt.db.unit_of_work() as s:
            rows = [
                (o.object_name, o.wrapped_key, o.stored_size)
                for o in s.execute(select(StoredObject).order_by(StoredObject.id)).scalars()
            ]
        total = sum(size for _, _, size in rows)
        plan = Plan.from_settings(Settings(fixity_mb_per_s=0))

        def raw() -> float:
            started = time.perf_counter()
            for name, key, _ in rows:
                assert key is not None
                with rt.vault.store.open(name, key) as chunks:
                    for _chunk in chunks:
                        pass
            return total / (time.perf_counter() - started) / 1e6

        def verify() -> float:
            """The library's own check (decrypt and SHA-256), without the sweep around it."""
            started = time.perf_counter()
            o = StoredObject
            with rt.db.read_only() as s:
                objs = s.execute(
                    select(o.object_name, o.wrapped_key, o.sha256, o.size).order_by(o.id)
                ).all()
            for name, key, sha256, size in objs:
                assert key is not None
                rt.vault.store.verify(name, key, sha256, size)
            return total / (time.perf_counter() - started) / 1e6

        def sweep() -> float:
            started = time.perf_counter()
            result = Sweeper(rt.db, rt.vault, plan).run_all()
            assert result.checked == len(rows) and result.failed == 0, result
            return total / (time.perf_counter() - started) / 1e6

        raw(), verify(), sweep()  # warm the page cache and the connections
        raws, verifies, sweeps = [], [], []
        for _ in range(args.reps):
            raws.append(raw())
            verifies.append(verify())
            sweeps.append(sweep())
        r, v, w = statistics.median(raws), statistics.median(verifies), statistics.median(sweeps)
        print(f"objects: {len(rows)} × {args.size_kib} KiB ({total / 1e6:.0f} MB stored)")
        print(f"raw decrypt (EncryptedStore.open): {r:8.0f} MB/s")
        print(f"verify (decrypt + SHA-256):        {v:8.0f} MB/s")
        print(f"fixity sweep (unlimited rate):     {w:8.0f} MB/s")
        print(f"ratio sweep / raw decrypt: {w / r:.2f}×  (target ≥ 0.8×)")
        print(f"ratio sweep / verify:      {w / v:.2f}×  (the sweep's own cost)")
        rt.close()


if __name__ == "__main__":
    main()
