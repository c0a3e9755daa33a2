"""The API under load in the production shape, beside a floor measured in the same run.

Starts what docker-compose.yml's ``web`` service runs (gunicorn with the file's own
command and environment) on a PostgreSQL schema of its own, Redis and the local object
store; seeds N accepted documents through the services (extracted and indexed); then
drives, for a fixed time at each number of concurrent clients (each client one
keep-alive connection, one request at a time — a bounded generator):

* ``floor``   — ``GET /api/v1/me``: a trivial JSON answer through the same gunicorn
  configuration and the same bearer-token path (what the service cannot go below);
* ``metadata`` — ``GET /api/v1/documents/{id}``;
* ``search``  — ``GET /api/v1/documents?q=<one Chinese word>``;
* ``content`` — ``GET /api/v1/documents/{id}/content`` (small files);
* ``upload``  — ``POST /api/v1/documents`` (100 KB).

Printed per endpoint and concurrency: requests/s, p50/p95/p99 in ms, errors, and the
CPU the server used (cores busy, from /proc), with each endpoint's rate as a share of
the floor's. Usage::

    python benchmarks/api_load.py [--docs 2000] [--seconds 60] [--clients 1,10,50]
    python benchmarks/api_load.py --quick        # about 2 minutes
    python benchmarks/api_load.py --json         # the same figures as one JSON object

Needs PostgreSQL at 127.0.0.1:5432 (database ``test``, trust; a schema of its own,
dropped after) and Redis at 127.0.0.1:6379 (databases 10–11, emptied). Jobs the
uploads send are queued and not consumed (no worker runs: the web tier is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import secrets
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import compose_shape  # noqa: E402
import pg_schema  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402

from archive_service.accounts import users  # noqa: E402
from archive_service.archive import documents, review  # noqa: E402
from archive_service.config import Settings  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.policy import Caller  # noqa: E402
from archive_service.runtime import Runtime, build_runtime  # noqa: E402
from tests.e2e import stack  # noqa: E402
from workers.sender import connect  # noqa: E402

BROKER, RESULTS = 10, 11
PASSWORD = "api load bench 7"  # noqa: S105 - a throw-away account of the run
WORDS = ["离心泵", "付款延迟", "节能空调", "应收账款", "物流外包"]
SENTENCES = [
    "本合同约定华夏贸易向本公司采购离心泵三百台，交货期为九十日。",
    "客户投诉处理记录：付款延迟已经协调财务部门解决，客户表示满意。",
    "市场调研报告：华东地区对节能空调的需求明显增长，竞争对手降价。",
    "年度审计意见：应收账款周转天数下降，坏账准备计提充分。",
    "仓储物流外包费用复核，合同编号 HT-2024-007，季度结算。",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(service: str, pg_url: str, work: Path) -> dict[str, str]:
    return compose_shape.service_env(service, pg_url, work, broker=BROKER, results=RESULTS)


def _seed(rt: Runtime, count: int) -> tuple[int, list[int]]:
    """A clerk, an archivist, one customer and ``count`` accepted, indexed text files."""
    customer_id = compose_shape.staff_and_customer(rt, PASSWORD)
    ids = []
    for n in range(count):
        body = "\n".join(f"第{n}号文件。{SENTENCES[(n + i) % len(SENTENCES)]}" for i in range(8))
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
                    filename=f"d{n}.txt",
                    stream=io.BytesIO(body.encode()),
                ),
                rt.archive,
            )
            review.accept(
                s, Caller.of(users.user_by_username(s, "arch")), doc.id, rt.archive, rt.checking
            )
            ids.append(doc.id)
        if (n + 1) % 200 == 0:
            print(f"  {n + 1} documents accepted and indexed", flush=True)
    return customer_id, ids


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live children, plus its reaped children's."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(p: int) -> list[str]:
        raw = Path(f"/proc/{p}/stat").read_text()
        return raw[raw.rindex(")") + 2 :].split()

    total = 0.0
    try:
        fields = stat(pid)
        total += sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    except FileNotFoundError:
        return 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = stat(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        if int(fields[1]) == pid:  # ppid
            total += sum(int(x) for x in fields[11:13]) / tick
    return total


class Target:
    """What one endpoint's requests look like."""

    def __init__(self, base: str, token: str, customer_id: int, ids: list[int]) -> None:
        self.base, self.customer_id, self.ids = base, customer_id, ids
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, name: str) -> tuple[str, str, Any]:
        doc = random.choice(self.ids)  # noqa: S311 - load, not security
        if name == "floor":
            return "GET", "/api/v1/me", None
        if name == "metadata":
            return "GET", f"/api/v1/documents/{doc}", None
        if name == "search":
            word = random.choice(WORDS)  # noqa: S311
            return "GET", f"/api/v1/documents?q={word}", None
        if name == "content":
            return "GET", f"/api/v1/documents/{doc}/content", None
        form = aiohttp.FormData()
        form.add_field("customer_id", str(self.customer_id))
        form.add_field("category", "basic.profile")
        form.add_field("title", "负载测试上传")
        form.add_field("retention_class", "short")
        form.add_field(
            "file", secrets.token_hex(50_000).encode(), filename="load.txt",
            content_type="text/plain",
        )  # fmt: skip
        return "POST", "/api/v1/documents", form


async def _client(target: Target, name: str, until: float, out: list[float], errors: list[str]):
    connector = aiohttp.TCPConnector(limit=1)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        target.base, connector=connector, timeout=timeout, headers=target.headers
    ) as http:
        while time.monotonic() < until:
            method, path, body = target.request(name)
            started = time.perf_counter()
            try:
                async with http.request(method, path, data=body) as resp:
                    await resp.read()
                    ok = resp.status < 400
                    status = str(resp.status)
            except (TimeoutError, aiohttp.ClientError) as exc:
                ok, status = False, type(exc).__name__
            if ok:
                out.append(time.perf_counter() - started)
            else:
                errors.append(status)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _point(target: Target, name: str, clients: int, seconds: float, server: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    cpu0, t0 = _cpu_seconds(server), time.monotonic()
    until = t0 + seconds

    async def run() -> None:
        await asyncio.gather(
            *(_client(target, name, until, latencies, errors) for _ in range(clients))
        )

    asyncio.run(run())
    elapsed = time.monotonic() - t0
    cpu = (_cpu_seconds(server) - cpu0) / elapsed
    return {
        "endpoint": name,
        "clients": clients,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": _percentile(latencies, 0.50),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "server_cores": cpu,
    }


def _start_web(env: dict[str, str], work: Path, port: int, extra: list[str]) -> tuple[Any, Path]:
    """compose's web command as written (its access log goes to the run's log file), bound
    to ``port``; ``extra`` options come last, so they override the file's."""
    argv = stack.command("web")
    argv = [sys.executable, "-m", "gunicorn", *argv[1:], *extra]
    log = work / "web.log"
    return serve(argv, env, log, port), log


def serve(
    argv: list[str], env: dict[str, str], log: Path, port: int, paths: tuple[str, ...] = ()
) -> Any:
    """Start gunicorn as ``argv`` says, bound to ``port``, and wait until one of ``paths``
    (default: the health check) answers; its output goes to ``log``."""
    argv = [f"--bind=127.0.0.1:{port}" if a.startswith("--bind=") else a for a in argv]
    proc = stack.start(argv, stack.process_env(env), log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for path in paths or ("/api/v1/health",):
            try:
                if requests.get(f"http://127.0.0.1:{port}{path}", timeout=2).ok:
                    return proc
            except requests.RequestException:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    stack.stop(proc)
    raise SystemExit(f"gunicorn did not start:\n{stack.tail(log)}")


def _print(results: list[dict[str, Any]]) -> None:
    floor = {r["clients"]: r["requests_per_s"] for r in results if r["endpoint"] == "floor"}
    print(
        f"\n{'endpoint':<10} {'clients':>7} {'req/s':>8} {'÷floor':>7} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'cores':>6}"
    )
    for r in results:
        share = r["requests_per_s"] / floor[r["clients"]] if floor.get(r["clients"]) else 0
        print(
            f"{r['endpoint']:<10} {r['clients']:>7} {r['requests_per_s']:>8.1f} {share:>6.2f}× "
            f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['errors']:>7} "
            f"{r['server_cores']:>6.2f}"
        )
        if r["errors"]:
            print(f"{'':>10} errors: {', '.join(r['error_kinds'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--endpoints", default="floor,metadata,search,content,upload")
    parser.add_argument("--quick", action="store_true", help="300 documents, 8 s per point")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--gunicorn",
        default="",
        help="extra gunicorn options after compose's, e.g. '--workers=4 --threads=2'",
    )
    args = parser.parse_args()
    if args.quick:
        args.docs, args.seconds = min(args.docs, 300), 8
    clients = [int(c) for c in args.clients.split(",")]
    endpoints = args.endpoints.split(",")

    schema, pg_url = pg_schema.create()
    work = Path(tempfile.mkdtemp(prefix="api-load-"))
    results: list[dict[str, Any]] = []
    boots = 0
    try:
        upgrade(pg_url)
        compose_shape.prepare(work)
        for db in (BROKER, RESULTS):
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
        web_env = _env("web", pg_url, work)
        # Seeding writes the index here and now (eager), as the index worker would.
        seeder_env = {**_env("indexer", pg_url, work), "ARCHIVE_CELERY_ALWAYS_EAGER": "1"}
        print(f"seeding {args.docs} accepted documents …", flush=True)
        rt = connect(build_runtime(Settings.from_env(seeder_env)))
        try:
            customer_id, ids = _seed(rt, args.docs)
        finally:
            rt.close()
        port = _free_port()
        proc, log = _start_web(web_env, work, port, args.gunicorn.split())
        try:
            base = f"http://127.0.0.1:{port}"
            token = requests.post(
                f"{base}/api/v1/auth/token",
                json={"username": "clara", "password": PASSWORD},
                timeout=10,
            ).json()["token"]
            target = Target(base, token, customer_id, ids)
            for name in endpoints:
                for n in clients:
                    _point(target, name, n, min(2.0, args.seconds), proc.pid)  # warm up
                    point = _point(target, name, n, args.seconds, proc.pid)
                    results.append(point)
                    if not args.json:
                        print(
                            f"  {name} × {n}: {point['requests_per_s']:.1f} req/s, "
                            f"p95 {point['p95_ms']:.1f} ms",
                            flush=True,
                        )
        finally:
            stack.stop(proc)
            boots = log.read_text(errors="replace").count("Booting worker")
    finally:
        pg_schema.drop(schema)
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        shape = {"docs": args.docs, "seconds": args.seconds, "worker_boots": boots}
        print(json.dumps({**shape, "points": results}))
    else:
        _print(results)
        print(f"\ngunicorn workers booted: {boots} (recycled ones included)")


if __name__ == "__main__":
    main()
