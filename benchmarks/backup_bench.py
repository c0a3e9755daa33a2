"""Backup and restore against a plain copy of the same files, in one run.

An embedded instance (SQLite, the local store) is filled with N encrypted objects of
about SIZE in total (stored through the vault, as uploads are; no extraction: the
backup copies objects and rows, not documents' text). Then, printed with their ratios:

* a plain copy of the store's folder (``shutil.copytree``, no fsync) — the floor;
* a full ``archive backup`` to a folder (database, sealed keys, anchor, every object
  copied and hashed, each written durably, the signed manifest) — target >= 0.7x;
* 100 new objects, then an incremental backup — target <= 5 % of the full one;
* a restore onto an empty instance (verify, database, keys, objects, index rebuild,
  audit verification).

Usage::

    python benchmarks/backup_bench.py                 # 10,000 objects, 2 GiB
    python benchmarks/backup_bench.py --docs 500 --mb 50   # a quick run
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive_service.backup.restore import restore  # noqa: E402
from archive_service.backup.services import backup_now  # noqa: E402
from archive_service.backup.target import open_target  # noqa: E402
from archive_service.config import Settings  # noqa: E402
from archive_service.instance import ensure_instance  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.runtime import Runtime, build_runtime  # noqa: E402

PASSPHRASE = "backup bench passphrase"  # noqa: S105 - a throw-away instance


def settings_for(instance: Path, target: Path) -> Settings:
    return Settings(
        instance_dir=instance, backup_to=str(target), backup_passphrase=PASSPHRASE
    ).with_defaults()


def fill(rt: Runtime, count: int, size: int, batch: int = 200) -> int:
    total = 0
    for start in range(0, count, batch):
        with rt.db.unit_of_work() as s:
            for _ in range(min(batch, count - start)):
                rt.vault.put(s, BytesIO(os.urandom(size)))
                total += size
    return total


def copy_synced(src: str, dst: str) -> None:
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def timed(what: str, fn: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()  # type: ignore[operator]
    seconds = time.perf_counter() - t0
    print(f"  {what:<32} {seconds:8.2f} s")
    return seconds, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=10_000, help="objects (default 10,000)")
    ap.add_argument("--mb", type=int, default=2048, help="total size in MiB (default 2048)")
    ap.add_argument("--new", type=int, default=100, help="objects added before the increment")
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed)")
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="backup-bench-"))
    size = max(1, (args.mb << 20) // args.docs)
    try:
        target = work / "backups"
        settings = settings_for(work / "instance", target)
        ensure_instance(settings)
        upgrade(settings.database_url)
        rt = build_runtime(settings)
        print(f"{args.docs} objects of {size} bytes ({args.mb} MiB) in {work}")
        _, total = timed("fill (encrypt + store)", lambda: fill(rt, args.docs, size))
        stored = sum(p.stat().st_size for p in Path(settings.storage_dir).rglob("*") if p.is_file())
        plain, _ = timed(
            "plain copy of the store",
            lambda: shutil.copytree(settings.storage_dir, work / "plain-copy"),
        )
        shutil.rmtree(work / "plain-copy")
        durable, _ = timed(
            "plain copy, each file fsynced",
            lambda: shutil.copytree(
                settings.storage_dir, work / "plain-copy", copy_function=copy_synced
            ),
        )
        shutil.rmtree(work / "plain-copy")
        full, first = timed("full backup", lambda: backup_now(rt))
        timed(f"add {args.new} objects", lambda: fill(rt, args.new, size))
        incr, second = timed("incremental backup", lambda: backup_now(rt))
        rt.close()
        fresh = settings_for(work / "restored", target)
        tgt = open_target(fresh)
        assert tgt is not None
        rest, result = timed(
            "restore onto an empty instance", lambda: restore(fresh, tgt, None, PASSPHRASE)
        )
        mib = stored / (1 << 20)
        print()
        print(f"  stored (ciphertext)              {mib:8.1f} MiB")
        print(f"  plain copy                       {mib / plain:8.1f} MiB/s")
        print(f"  plain copy, fsynced              {mib / durable:8.1f} MiB/s")
        print(f"  full backup                      {mib / full:8.1f} MiB/s")
        print(f"  full backup / plain copy         {plain / full:8.2f} x      (target >= 0.7)")
        print(f"  full backup / fsynced copy       {durable / full:8.2f} x")
        print(f"  incremental / full               {incr / full * 100:8.1f} %      (target <= 5 %)")
        print(f"  restore                          {mib / rest:8.1f} MiB/s   ({rest:.1f} s)")
        copied = (getattr(first, "copied", None), getattr(second, "copied", None))
        restored = getattr(result, "ok", None)
        print(f"  copied: full {copied[0]}, incremental {copied[1]}; restored: {restored}")
        del total
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
