"""Writing a transfer package beside a plain copy of the same decrypted files, in one run
(issue 17: the export of 1,000 documents / 500 MB at ≥ 0.7× a plain copy of the decrypted
files).

One embedded instance (SQLite in a temporary folder, the local object store), filled by
the import path with ``--files`` documents of ``--kb`` KB of incompressible bytes, whose
text is then extracted as the worker does after any intake (which takes each file's SM3;
``--no-extraction`` leaves that out, so the export hashes every original itself). An
approved transfer of all of them is then, alternately, ``--runs`` times each:

* ``plain copy`` — every document's file read from the store (decrypted, its tag checked)
  and written to a folder: the floor any export pays;
* ``export``     — ``transfer.package.export``: the registration in the database, the
  metadata (XML, JSON, history, register, checks), the files into the ZIP with SHA-256
  and their SM3 (from the extraction, else computed on the way), the 移交清单 as PDF and
  XLSX, the signed manifest.

Printed: the median seconds and MB/s of each, and the ratio plain copy / export (≥ 0.7:
the export is at most 1 / 0.7 as slow as the copy).

Usage::

    python benchmarks/transfer_bench.py                    # 1000 × 500 KB
    python benchmarks/transfer_bench.py --files 100        # quick
"""

from __future__ import annotations

import argparse
import csv
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from import_bench import BROKER_DB, _redis_broker, _settings  # noqa: E402
from sqlalchemy import select  # noqa: E402

from archive_service.accounts import departments  # noqa: E402
from archive_service.archive import importing  # noqa: E402
from archive_service.archive.models import Customer, Document, DocumentVersion  # noqa: E402
from archive_service.indexing import renditions  # noqa: E402
from archive_service.policy import Caller  # noqa: E402
from archive_service.runtime import build_runtime  # noqa: E402
from archive_service.transfer import applications, package  # noqa: E402
from archive_service.transfer.verify import verify  # noqa: E402
from archive_service.vault.models import StoredObject  # noqa: E402
from workers.sender import connect  # noqa: E402

OPERATOR = Caller.cli()


def _fill(root: Path, rt: object, n: int, kb: int) -> None:
    files = root / "files"
    files.mkdir()
    manifest = root / "目录.csv"
    with manifest.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["customer", "category", "title", "filing_date", "old_number",
                      "retention_class", "file"])  # fmt: skip
        for i in range(n):
            name = f"{i:06d}.txt"
            body = f"档案 {i}\n".encode() + secrets.token_hex(kb * 512).encode()[: kb * 1024]
            (files / name).write_bytes(body)
            out.writerow(["移交公司", "basic.profile", f"文件 {i}", "2019-03-01",
                          f"OLD-{i:06d}", "short", name])  # fmt: skip
    report = importing.run(
        importing.Importing.of(rt),  # type: ignore[arg-type]
        OPERATOR,
        importing.Source(manifest, files, "SALES"),
    )
    if not report.ok or report.imported != n:
        print("filling failed:", report.problems[:5], file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(files)


def _plain_copy(rt: object, objects: list[tuple[str, str, str]], out: Path) -> int:
    out.mkdir()
    size = 0
    vault = rt.vault  # type: ignore[attr-defined]
    for name, wrapped, filename in objects:
        with (out / filename).open("wb") as f:
            for chunk in vault.store.open(name, wrapped):
                f.write(chunk)
                size += len(chunk)
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--kb", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--no-extraction", action="store_true", help="leave the files' SM3 to the export"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="transfer-bench-"))
    try:
        rt = connect(build_runtime(_settings(root, _redis_broker(BROKER_DB))))
        with rt.db.unit_of_work() as s:
            departments.create_department(s, OPERATOR, "SALES", "销售部")
            departments.create_department(s, OPERATOR, "OPS", "运营部")
        t0 = time.perf_counter()
        _fill(root, rt, args.files, args.kb)
        print(f"filled {args.files} × {args.kb} KB in {time.perf_counter() - t0:.0f} s")
        if not args.no_extraction:
            t0 = time.perf_counter()
            with rt.db.session() as s:
                ids = s.scalars(select(Document.id)).all()
            for doc_id in ids:
                renditions.extract_text(rt.indexing, doc_id)
            print(f"text extracted (and SM3 taken) in {time.perf_counter() - t0:.0f} s")
        with rt.db.unit_of_work() as s:
            customer = s.scalars(select(Customer.id).where(Customer.name == "移交公司")).one()
            made = applications.apply(
                s,
                OPERATOR,
                applications.TransferIn(
                    applications.Selection(customer_ids=[customer]), "基准接收方", "基准测试"
                ),
            )
            tid = made.id
            for _ in made.steps:
                applications.decide(s, OPERATOR, tid, "approve", None)
            rows = s.execute(
                select(StoredObject.object_name, StoredObject.wrapped_key, DocumentVersion.number)
                .join(DocumentVersion, DocumentVersion.stored_object_id == StoredObject.id)
                .join(Document, Document.id == DocumentVersion.document_id)
                .where(Document.customer_id == customer)
            ).all()
            objects = [(o, w or "", f"{v}-{i}.txt") for i, (o, w, v) in enumerate(rows)]
        total_mb = len(objects) * args.kb / 1024
        copy_times, export_times = [], []
        for run in range(args.runs):
            target = root / f"copy-{run}"
            t0 = time.perf_counter()
            _plain_copy(rt, objects, target)
            copy_times.append(time.perf_counter() - t0)
            shutil.rmtree(target)
            zip_path = root / f"package-{run}.zip"
            t0 = time.perf_counter()
            done = package.export(package.Exporting.of(rt), OPERATOR, tid, zip_path)
            export_times.append(time.perf_counter() - t0)
            if run == 0:
                checked = verify(zip_path)
                assert checked.ok, checked.problems[:3]
                print(
                    f"package: {done.documents} documents, {done.files} files, "
                    f"{zip_path.stat().st_size / 1e6:.0f} MB on disk; verifies"
                )
            zip_path.unlink()
        copy, export = statistics.median(copy_times), statistics.median(export_times)
        print(
            f"{'plain copy':>11}: {copy:6.2f} s  {total_mb / copy:6.0f} MB/s  (runs {copy_times})"
        )
        print(
            f"{'export':>11}: {export:6.2f} s  {total_mb / export:6.0f} MB/s  (runs {export_times})"
        )
        print(f"ratio plain copy / export: {copy / export:.2f}  (target ≥ 0.7)")
        rt.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
