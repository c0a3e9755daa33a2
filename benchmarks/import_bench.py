"""Importing an existing archive from a manifest beside the same files sent one by one
through the API, in one run (issue 17: import ≥ 3× the per-file API path, ≥ 50 files/s on
two cores for 100 KB files, with extraction and indexing queued, not inline).

One embedded instance (SQLite in a temporary folder, the local object store; Redis as
the broker when it answers, as compose runs it, else the embedded one). No worker runs,
so the jobs both paths queue (extraction, index, checks, previews) stay queued: the
intake is measured. The import names its own customer
(opened by the import), the API path uploads for another, so neither meets the other's
files. Printed:

* ``import``      — ``archive.importing.run`` on a CSV manifest of ``--files`` files: the
  whole manifest checked, then each row uploaded, numbered and accepted;
* ``api upload``  — ``POST /api/v1/documents`` per file (Flask's test client, a clerk's
  token): the files arrive but wait for review;
* ``api upload+accept`` — the same, then ``POST /api/v1/documents/{id}/accept`` as an
  archivist: the same end state as the import (the ratio's baseline).

Usage::

    python benchmarks/import_bench.py                  # 2000 × 100 KB
    python benchmarks/import_bench.py --files 200      # quick
    python benchmarks/import_bench.py --kind pdf       # PDFs (probed in the sandbox)
"""

from __future__ import annotations

import argparse
import csv
import io
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive_service.accounts import departments, tokens, users  # noqa: E402
from archive_service.app import create_app  # noqa: E402
from archive_service.archive import customers, importing  # noqa: E402
from archive_service.config import Settings  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.policy import Caller  # noqa: E402
from archive_service.runtime import build_runtime  # noqa: E402
from storage.keyring import Keyring  # noqa: E402
from workers.sender import connect  # noqa: E402

PASSWORD = "import bench 7"  # noqa: S105 - a throw-away account of the run
OPERATOR = Caller.cli()
BROKER_DB = 12  # emptied before and after


def _content(kind: str, i: int, kb: int) -> tuple[str, bytes]:
    if kind == "pdf":
        from tests import samples

        pad = b"%" + secrets.token_hex(kb * 512).encode()[: kb * 1024] + b"\n"
        body = samples.pdf(f"file {i}")
        return f"{i:06d}.pdf", body[:9] + pad + body[9:]
    text = f"档案 {i}\n".encode() + secrets.token_hex(kb * 512).encode()[: kb * 1024]
    return f"{i:06d}.txt", text


def _redis_broker(db: int) -> str:
    """The compose stack's broker (Redis, ``db`` emptied) when one answers at 127.0.0.1:6379;
    else '' (the embedded broker, whose every send is a SQLite commit)."""
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, db=db, socket_connect_timeout=1)
        client.flushdb()
    except Exception:  # noqa: BLE001 - any failure to reach it
        return ""
    return f"redis://127.0.0.1:6379/{db}"


def _settings(root: Path, broker: str) -> Settings:
    instance = root / "instance"
    instance.mkdir()
    Keyring.generate().save(instance / "keyring.json")
    url = f"sqlite:///{instance / 'archive.sqlite3'}"
    upgrade(url)
    return Settings(
        instance_dir=instance,
        database_url=url,
        secret_key=secrets.token_hex(16),
        keyring_file=str(instance / "keyring.json"),
        broker_url=broker,
        celery_always_eager=False,  # queued in the broker, not run
        password_hash_time_cost=1,
        password_hash_memory_kib=8,
        password_hash_parallelism=1,
    ).with_defaults()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--kind", choices=("txt", "pdf"), default="txt")
    parser.add_argument(
        "--embedded-broker", action="store_true", help="the embedded broker even with Redis up"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="import-bench-"))
    try:
        broker = "" if args.embedded_broker else _redis_broker(BROKER_DB)
        rt = connect(build_runtime(_settings(root, broker)))
        with rt.db.unit_of_work() as s:
            departments.create_department(s, OPERATOR, "SALES", "销售部")
            for name, role in (("clerk", "clerk"), ("arch", "archivist")):
                users.create_user(
                    s,
                    OPERATOR,
                    username=name,
                    password=PASSWORD,
                    display_name=name,
                    department="SALES",
                    roles=(role,),
                    settings=rt.accounts,
                )
        with rt.db.unit_of_work() as s:
            clerk = Caller.of(users.user_by_username(s, "clerk"))
            api_customer = customers.create_customer(
                s,
                clerk,
                {"name": "逐个上传公司", "customer_type": "enterprise", "department": "SALES"},
            ).id
            heads = {
                who: {
                    "Authorization": "Bearer "
                    + tokens.issue_token(s, Caller.of(users.user_by_username(s, who)), rt.accounts)[
                        0
                    ]
                }
                for who in ("clerk", "arch")
            }

        files = root / "files"
        (files / "import").mkdir(parents=True)
        (files / "api").mkdir()
        manifest = root / "目录.csv"
        with manifest.open("w", encoding="utf-8-sig", newline="") as f:
            out = csv.writer(f)
            out.writerow(["customer", "category", "title", "filing_date", "old_number",
                          "retention_class", "file"])  # fmt: skip
            for i in range(args.files):
                name, data = _content(args.kind, i, args.kb)
                (files / "import" / name).write_bytes(data)
                (files / "api" / name).write_bytes(_content(args.kind, i, args.kb)[1])
                out.writerow(["导入公司", "basic.profile", f"文件 {i}", "2019-03-01",
                              f"OLD-{i:06d}", "short", f"import/{name}"])  # fmt: skip
        mb = args.files * args.kb / 1024
        print(
            f"{args.files} {args.kind} files of {args.kb} KB ({mb:.0f} MB) each way; jobs "
            f"queued in {'Redis' if broker else 'the embedded broker'}, not run"
        )

        ctx = importing.Importing.of(rt)
        t0 = time.perf_counter()
        report = importing.run(ctx, OPERATOR, importing.Source(manifest, files, "SALES"))
        t_import = time.perf_counter() - t0
        if not report.ok or report.imported != args.files:
            print("import failed:", report.problems[:5], file=sys.stderr)
            sys.exit(1)

        client = create_app(rt.settings, runtime=rt).test_client()
        t_upload = t_accept = 0.0
        for path in sorted((files / "api").iterdir()):
            t0 = time.perf_counter()
            resp = client.post(
                "/api/v1/documents",
                headers=heads["clerk"],
                data={
                    "customer_id": str(api_customer),
                    "category": "basic.profile",
                    "title": path.stem,
                    "retention_class": "short",
                    "file": (io.BytesIO(path.read_bytes()), path.name),
                },
                content_type="multipart/form-data",
            )
            t1 = time.perf_counter()
            assert resp.status_code == 201, resp.get_json()
            doc_id = resp.get_json()["id"]
            accepted = client.post(
                f"/api/v1/documents/{doc_id}/accept", headers=heads["arch"], json={}
            )
            t_accept += time.perf_counter() - t1
            t_upload += t1 - t0
            assert accepted.status_code == 200, accepted.get_json()

        n = args.files
        rates = {
            "import": n / t_import,
            "api upload": n / t_upload,
            "api upload+accept": n / (t_upload + t_accept),
        }
        for what, rate in rates.items():
            print(f"{what:>18}: {rate:7.1f} files/s")
        print(
            f"ratio import / api upload+accept: {rates['import'] / rates['api upload+accept']:.2f}"
            f"  (import / api upload alone: {rates['import'] / rates['api upload']:.2f}); "
            "target ≥ 3, and ≥ 50 files/s"
        )
        rt.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if not args.embedded_broker:
            _redis_broker(BROKER_DB)


if __name__ == "__main__":
    main()
