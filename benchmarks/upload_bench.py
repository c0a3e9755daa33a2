"""Large uploads through ``POST /api/v1/documents`` beside plain HTTP uploads, one run.

Starts what docker-compose.yml's ``web`` service runs (gunicorn with the file's own
command and environment: PostgreSQL schema of its own, Redis, the local object store,
the private temp area on a tmpfs as compose mounts it) and, with the same gunicorn
command, the floor app (benchmarks/upload_floor.py). Then, for a few rounds, sends
``--uploads`` concurrent uploads of ``--mb`` MB each to:

* ``raw``   — the floor's ``/raw``: the body copied to a file (what HTTP alone costs);
* ``form``  — the floor's ``/form``: a plain werkzeug form upload, ``request.files``
  saved to a file (the baseline the target is a ratio of);
* ``api``   — ``POST /api/v1/documents`` with the same multipart body: sniffed,
  checked, hashed, encrypted, stored and recorded.

Printed per route: MB/s (the best round), the ratio to the form upload, the server's CPU
seconds per GB, and the web workers' RSS growth over the run. Usage::

    python benchmarks/upload_bench.py            # 20 × 50 MB, 3 rounds
    python benchmarks/upload_bench.py --quick    # 10 × 20 MB, 2 rounds
    python benchmarks/upload_bench.py --kind txt # a text file instead of a PDF

Needs PostgreSQL at 127.0.0.1:5432 (database ``test``, trust; a schema of its own,
dropped after) and Redis at 127.0.0.1:6379 (databases 12–13, emptied). Jobs the uploads
send are queued and not consumed (no worker runs: the web tier is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import api_load  # noqa: E402
import compose_shape  # noqa: E402
import pg_schema  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402

from archive_service.config import Settings  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.runtime import build_runtime  # noqa: E402
from tests.e2e import stack  # noqa: E402
from workers.sender import connect  # noqa: E402

BROKER, RESULTS = 12, 13
PASSWORD = "upload bench 7"  # noqa: S105 - a throw-away account of the run
BOUNDARY = "----upload-bench-" + secrets.token_hex(8)
SEND_CHUNK = 1 << 20


def _gunicorn(app: str, extra: list[str]) -> list[str]:
    """compose's web command as written, serving ``app``."""
    argv = stack.command("web")
    argv = [sys.executable, "-m", "gunicorn", *argv[1:], *extra]
    return [app if a == "wsgi:app" else a for a in argv]


def _cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a gunicorn master and its workers (live and reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if entry.name == str(pid):
            user += (int(fields[11]) + int(fields[13])) / tick
            system += (int(fields[12]) + int(fields[14])) / tick
        elif fields[1] == str(pid):
            user += int(fields[11]) / tick
            system += int(fields[12]) / tick
    return user, system


def _children_rss(pid: int) -> int:
    """Resident bytes of the gunicorn master's children (the workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(pid):
            total += int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    return total


class RssWatch:
    """The largest sum of the workers' RSS seen while running, sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self.start = _children_rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, _children_rss(self.pid))

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _file_bytes(kind: str, mb: int) -> bytes:
    """One file's bytes: a PDF-shaped file (random stream content, one %%EOF at the end) or
    a text file."""
    size = mb * 1_000_000
    if kind == "txt":
        return secrets.token_hex(size // 2).encode()
    head = b"%%PDF-1.7\n1 0 obj\n<< /Length %d >>\nstream\n" % size
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    return head + os.urandom(size - len(head) - len(tail)) + tail


def _multipart(fields: dict[str, str], filename: str, first: bytes, rest: bytes) -> list[Any]:
    """A multipart body as pieces (the large file part is not copied)."""
    out: list[Any] = []
    for name, value in fields.items():
        out.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    out.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
    )
    out += [first, memoryview(rest)]
    out.append(f"\r\n--{BOUNDARY}--\r\n".encode())
    return out


async def _send(port: int, path: str, headers: dict[str, str], pieces: list[Any]) -> int:
    """One upload on its own connection; the answer's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        length = sum(len(p) for p in pieces)
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "Connection: close\r\n\r\n"
        writer.write(head.encode())
        for piece in pieces:
            view = memoryview(piece)
            for at in range(0, len(view), SEND_CHUNK):
                writer.write(view[at : at + SEND_CHUNK])
                await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # the answer, to the close
        return int(status_line.split()[1]) if status_line else 0
    finally:
        writer.close()


def _round(port: int, route: str, uploads: int, content: bytes, token: str, customer: int) -> list:
    tag = uuid.uuid4().hex[:8]
    jobs = []
    for i in range(uploads):
        first = content[:9] + f"% {tag} {i}\n".encode()  # each file its own (no duplicates)
        rest = content[9:]
        if route == "raw":
            jobs.append(("/raw", {"Content-Type": "application/octet-stream"}, [first, rest]))
            continue
        fields = {
            "customer_id": str(customer),
            "category": "basic.profile",
            "title": f"大文件上传 {tag} {i}",
            "retention_class": "short",
        }
        pieces = _multipart(
            fields, "scan.pdf" if content[:4] == b"%PDF" else "big.txt", first, rest
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        if route == "api":
            jobs.append(
                ("/api/v1/documents", {**headers, "Authorization": f"Bearer {token}"}, pieces)
            )
        else:
            jobs.append(("/form", headers, pieces))

    async def run() -> list[int]:
        return await asyncio.gather(*(_send(port, p, h, b) for p, h, b in jobs))

    return asyncio.run(run())


def main() -> None:  # noqa: PLR0915 - one linear run
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kind", choices=["pdf", "txt"], default="pdf")
    parser.add_argument("--quick", action="store_true", help="10 × 20 MB, 2 rounds")
    parser.add_argument("--routes", default="raw,form,api")
    parser.add_argument("--gunicorn", default="", help="extra gunicorn options after compose's")
    args = parser.parse_args()
    if args.quick:
        args.uploads, args.mb, args.rounds = 10, 20, 2
    routes = args.routes.split(",")

    schema, pg_url = pg_schema.create()
    work = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    shm = Path(tempfile.mkdtemp(prefix="upload-bench-", dir="/dev/shm"))
    (work / "tmpfs").symlink_to(shm)  # compose mounts a tmpfs on /tmp
    procs: list[Any] = []
    results: dict[str, list[dict[str, float]]] = {r: [] for r in routes}
    rss: dict[str, int] = {}
    try:
        upgrade(pg_url)
        compose_shape.prepare(work)
        for db in (BROKER, RESULTS):
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
        env = compose_shape.service_env("web", pg_url, work, broker=BROKER, results=RESULTS)
        rt = connect(build_runtime(Settings.from_env(env)))
        try:
            customer = compose_shape.staff_and_customer(rt, PASSWORD, name="华夏贸易")
        finally:
            rt.close()
        (work / "floor").mkdir()
        floor_env = {**env, "UPLOAD_FLOOR_DIR": str(work / "floor")}
        extra = args.gunicorn.split()
        web_port, floor_port = api_load._free_port(), api_load._free_port()
        web = api_load.serve(_gunicorn("wsgi:app", extra), env, work / "web.log", web_port)
        procs.append(web)
        floor_argv = _gunicorn(
            "upload_floor:app", [f"--pythonpath={Path(__file__).parent}", *extra]
        )
        floor = api_load.serve(
            floor_argv, floor_env, work / "floor.log", floor_port, paths=("/health",)
        )
        procs.append(floor)
        token = requests.post(
            f"http://127.0.0.1:{web_port}/api/v1/auth/token",
            json={"username": "clara", "password": PASSWORD},
            timeout=10,
        ).json()["token"]
        content = _file_bytes(args.kind, args.mb)
        total_mb = args.uploads * len(content) / 1e6
        print(
            f"{args.uploads} concurrent uploads of {len(content) / 1e6:.0f} MB ({args.kind}), "
            f"{args.rounds} rounds; load before: {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        # warm-up: one small round per route
        small = content[: 1 << 20] + content[-64:]
        for route in routes:
            port = web_port if route == "api" else floor_port
            _round(port, route, 2, small, token, customer)
        rss_start = {"api": _children_rss(web.pid), "floor": _children_rss(floor.pid)}
        peaks = {"api": 0, "floor": 0}
        for n in range(args.rounds):
            for route in routes:
                proc = web if route == "api" else floor
                port = web_port if route == "api" else floor_port
                cpu0 = _cpu(proc.pid)
                t0 = time.perf_counter()
                with RssWatch(proc.pid) as watch:
                    statuses = _round(port, route, args.uploads, content, token, customer)
                elapsed = time.perf_counter() - t0
                user, system = (b - a for a, b in zip(cpu0, _cpu(proc.pid), strict=True))
                cpu = user + system
                key = "api" if route == "api" else "floor"
                peaks[key] = max(peaks[key], watch.peak)
                bad = [s for s in statuses if s != 201]
                gb = total_mb / 1000
                results[route].append(
                    {
                        "mb_s": total_mb / elapsed,
                        "cpu_s_per_gb": cpu / gb,
                        "sys_s_per_gb": system / gb,
                    }
                )
                print(
                    f"  round {n + 1} {route:<5} {total_mb / elapsed:7.1f} MB/s  "
                    f"cpu {cpu / gb:5.1f} s/GB (system {system / gb:4.1f})  "
                    f"errors {len(bad)} {bad[:3]}",
                    flush=True,
                )
        rss = {k: peaks[k] - rss_start[k] for k in peaks}
    finally:
        for proc in procs:
            stack.stop(proc)
        pg_schema.drop(schema)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)

    best = {r: max(results[r], key=lambda x: x["mb_s"]) for r in routes if results[r]}
    base = best.get("form", {}).get("mb_s")
    print(f"\n{'route':<6} {'MB/s':>8} {'÷form':>7} {'CPU s/GB':>9} {'of it sys':>9}")
    for route, point in best.items():
        ratio = f"{point['mb_s'] / base:6.2f}×" if base else "     -"
        print(
            f"{route:<6} {point['mb_s']:>8.1f} {ratio:>7} {point['cpu_s_per_gb']:>9.1f} "
            f"{point['sys_s_per_gb']:>9.1f}"
        )
    print(
        f"\nweb workers' RSS growth (peak − start): {rss.get('api', 0) / 2**20:.0f} MiB "
        f"(floor: {rss.get('floor', 0) / 2**20:.0f} MiB); load after: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
