"""Text extraction under the production worker beside the embedded start, in one run.

N accepted documents of every extractable type (PDF, DOCX, XLSX, PPTX, TXT in UTF-8
and GBK, CSV, EML) are queued for extraction, once per worker shape, on the same
PostgreSQL and Redis:

* compose: the ``worker`` and ``indexer`` services of docker-compose.yml, their
  commands and environment read from the file (prefork pool, ``--concurrency 2``;
  the single index consumer);
* embedded: the worker ``archive run`` starts (``--pool solo``, beat, both queues).

Printed per shape: how many were extracted (done / failed by reason) and the
extraction throughput in documents per second (from the first job sent to the last
extraction recorded; the workers are up before), then the ratio. The object store
is the local backend in both (the adapter is not what is measured). Usage::

    python benchmarks/extraction_bench.py [--docs 1000]

Needs PostgreSQL at 127.0.0.1:5432 (database ``test``, trust; a schema of its own,
dropped after) and Redis at 127.0.0.1:6379 (databases 6–9, emptied).
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import compose_shape  # noqa: E402
import pg_schema  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from archive_service.accounts import users  # noqa: E402
from archive_service.archive import customers, documents, review  # noqa: E402
from archive_service.archive.models import Document  # noqa: E402
from archive_service.cli.start import embedded_worker_command  # noqa: E402
from archive_service.config import Settings  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.policy import Caller  # noqa: E402
from archive_service.runtime import Runtime, build_runtime  # noqa: E402
from tests import samples  # noqa: E402
from tests.e2e import stack  # noqa: E402
from workers.sender import connect  # noqa: E402

PARKED, BROKER, RESULTS = 6, 7, 8  # uploads' own jobs go to PARKED, never consumed
PASSWORD = "extraction bench 9"  # noqa: S105 - a throw-away account of the run

SENTENCES = [
    "本合同约定华夏贸易向本公司采购离心泵三百台，交货期为九十日。",
    "客户投诉处理记录：付款延迟已经协调财务部门解决，客户表示满意。",
    "市场调研报告：华东地区对节能空调的需求明显增长，竞争对手降价。",
    "Quarterly review of warehouse logistics and outsourcing costs, contract HT-2024-007.",
    "年度审计意见：应收账款周转天数下降，坏账准备计提充分。",
]


def _body(n: int) -> list[str]:
    return [f"第{n}号文件。{SENTENCES[(n + i) % len(SENTENCES)]}" for i in range(6)]


def _file(n: int) -> tuple[str, bytes]:
    lines = _body(n)
    kind = n % 8
    if kind == 0:
        return f"d{n}.pdf", samples.pdf_zh(*lines)
    if kind == 1:
        return f"d{n}.docx", samples.word(*lines)
    if kind == 2:
        return f"d{n}.xlsx", samples.xlsx(*((i, line) for i, line in enumerate(lines)))
    if kind == 3:
        return f"d{n}.pptx", samples.pptx(*lines)
    if kind == 4:
        return f"d{n}.txt", "\n".join(lines).encode()
    if kind == 5:
        return f"d{n}.txt", "\n".join(lines).encode("gbk", errors="replace")
    if kind == 6:
        return f"d{n}.csv", ("编号,内容\n" + "".join(f"{n},{x}\n" for x in lines)).encode()
    return f"d{n}.eml", samples.eml(f"文件{n}", "\n".join(lines))


def _env(service: str, pg_url: str, work: Path) -> dict[str, str]:
    return compose_shape.service_env(service, pg_url, work, broker=BROKER, results=RESULTS)


def _prepare(rt: Runtime, count: int) -> list[int]:
    with rt.db.unit_of_work() as s:
        compose_shape.staff(s, rt, PASSWORD)
    ids = []
    with rt.db.unit_of_work() as s:
        clara = Caller.of(users.user_by_username(s, "clara"))
        customer = customers.create_customer(
            s,
            clara,
            {"name": "华夏贸易有限公司", "customer_type": "enterprise", "department": "SALES"},
        )
        customer_id = customer.id
    for n in range(count):
        name, data = _file(n)
        with rt.db.unit_of_work() as s:
            clara = Caller.of(users.user_by_username(s, "clara"))
            doc = documents.upload(
                s,
                clara,
                rt.vault,
                documents.Upload(
                    customer_id=customer_id,
                    category="basic.profile",
                    title=f"文件{n}",
                    retention_class="short",
                    document_date=None,
                    filename=name,
                    stream=io.BytesIO(data),
                ),
                rt.archive,
            )
            review.accept(
                s, Caller.of(users.user_by_username(s, "arch")), doc.id, rt.archive, rt.checking
            )
            ids.append(doc.id)
        if (n + 1) % 100 == 0:
            print(f"  {n + 1} documents accepted", flush=True)
    return ids


def _wait_ready(log: Path, names: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count(" ready.") >= names:
            return
        time.sleep(0.2)
    raise SystemExit(f"the workers did not start:\n{stack.tail(log)}")


def _run(label: str, argvs: list[tuple[list[str], dict[str, str]]], rt: Runtime, ids: list[int],
         work: Path) -> dict[str, Any]:  # fmt: skip
    with rt.db.unit_of_work() as s:
        s.execute(
            update(Document).values(
                extraction="pending",
                extraction_error=None,
                extraction_reason=None,
                extraction_attempts=0,
                extraction_retry_at=None,
                text_object_id=None,
            )
        )
    shutil.rmtree(work / "index", ignore_errors=True)
    (work / "index").mkdir()
    for db in (BROKER, RESULTS):
        redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
    log = work / f"{label}.log"
    procs = [stack.start(argv, stack.process_env(env), log) for argv, env in argvs]
    try:
        _wait_ready(log, len(procs), time.monotonic() + 120)
        started = time.monotonic()
        for doc_id in ids:
            rt.send("extract_text", [doc_id])  # one job per document, as an upload sends
        deadline = started + 3600
        while time.monotonic() < deadline:
            with rt.db.unit_of_work() as s:
                pending = s.execute(
                    select(Document.id).where(Document.extraction == "pending").limit(1)
                ).first()
            if pending is None:
                break
            for proc in procs:
                if proc.poll() is not None:
                    raise SystemExit(f"{label}: a worker stopped:\n{stack.tail(log)}")
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        with rt.db.unit_of_work() as s:
            outcomes = Counter(
                f"{state}:{reason}" if reason else state
                for state, reason in s.execute(
                    select(Document.extraction, Document.extraction_reason)
                ).all()
            )
        indexed_deadline = time.monotonic() + 120
        while time.monotonic() < indexed_deadline:
            try:
                if rt.search_index.count() >= len(ids):
                    break
            except Exception:  # noqa: BLE001, S110 - the index is being created
                pass
            time.sleep(0.5)
        indexed = rt.search_index.count()
    finally:
        for proc in procs:
            stack.stop(proc)
    return {
        "label": label,
        "elapsed": elapsed,
        "outcomes": dict(outcomes),
        "rate": outcomes.get("done", 0) / elapsed,
        "indexed": indexed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    args = parser.parse_args()

    schema, pg_url = pg_schema.create()
    work = Path(tempfile.mkdtemp(prefix="extraction-bench-"))
    try:
        upgrade(pg_url)
        compose_shape.prepare(work)
        for db in (PARKED, BROKER, RESULTS):
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
        worker_env = _env("worker", pg_url, work)
        settings = Settings.from_env(worker_env)
        # The bench's own runtime: uploads' jobs are parked; then it sends the measured ones.
        parked = Settings.from_env(
            {**worker_env, "ARCHIVE_BROKER_URL": f"redis://127.0.0.1:6379/{PARKED}"}
        )
        print(f"accepting {args.docs} documents of 8 kinds …", flush=True)
        uploader = connect(build_runtime(parked))
        try:
            ids = _prepare(uploader, args.docs)
        finally:
            uploader.close()
        rt = connect(build_runtime(settings))
        try:
            compose_workers = [
                (stack.command("worker"), worker_env),
                (stack.command("indexer"), _env("indexer", pg_url, work)),
            ]
            embedded_shape = [(embedded_worker_command(settings), worker_env)]
            results = []
            for label, shape in (("compose", compose_workers), ("embedded", embedded_shape)):
                print(f"{label}: extracting …", flush=True)
                results.append(_run(label, shape, rt, ids, work))
        finally:
            rt.close()
    finally:
        pg_schema.drop(schema)
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{'worker shape':<44} {'extracted':>10} {'failed':>7} {'docs/s':>8} {'indexed':>8}")
    shapes = {
        "compose": "compose worker (prefork, --concurrency 2)",
        "embedded": "embedded start (--pool solo)",
    }
    for r in results:
        done = r["outcomes"].get("done", 0)
        failed = sum(n for k, n in r["outcomes"].items() if k.startswith("failed"))
        print(
            f"{shapes[r['label']]:<44} {done:>6}/{args.docs:<3} {failed:>7} "
            f"{r['rate']:>8.2f} {r['indexed']:>8}"
        )
        if failed:
            print("   failures:", {k: n for k, n in r["outcomes"].items() if k != "done"})
    compose_rate, embedded_rate = results[0]["rate"], results[1]["rate"]
    print(f"\nthroughput compose / embedded: {compose_rate / embedded_rate:.2f}×")


if __name__ == "__main__":
    main()
