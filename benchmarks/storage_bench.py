"""Storage benchmark: encryption overhead as ratios measured in one run.

Prints, per quality.md:
* the ceiling: raw AES-256-GCM (and SHA-256) throughput on 1 MiB segments;
* upload: encrypt+store vs a plain store of the same bytes to the same
  backend (local folder; S3 on a moto server started here), as a ratio;
* download: read+decrypt+verify vs a plain read of the same object;
* peak RSS growth streaming a small vs a large file through encrypt+store
  (local backend), each in its own child process.

Runs are interleaved and repeated (``--reps``) and medians compared, because
the machine is shared and noisy.  Usage::

    python benchmarks/storage_bench.py [--size-mib 256] [--rss-mib 1024] [--reps 3] [--no-s3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from storage import EncryptedStore, Keyring, LocalStore, ObjectStore  # noqa: E402
from storage.backends import S3Config, S3Store, new_object_name  # noqa: E402

MiB = 1 << 20


class Source:
    """`size` bytes of incompressible data without holding them: a random
    block served repeatedly (read(n) returns up to one block, like a socket)."""

    def __init__(self, size: int, block: bytes) -> None:
        self.left, self.block = size, block

    def read(self, n: int = -1, /) -> bytes:
        k = min(self.left, len(self.block) if n < 0 else n, len(self.block))
        self.left -= k
        return self.block if k == len(self.block) else self.block[:k]


def throughput(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:8.0f} MB/s"


def ceiling(total: int) -> None:
    seg = os.urandom(MiB)
    aead, nonce = AESGCM(AESGCM.generate_key(256)), os.urandom(12)
    n = max(1, total // MiB)

    def timed(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - start

    sha, ct = hashlib.sha256(), aead.encrypt(nonce, seg, b"ad")
    t_aes = min(timed(lambda: aead.encrypt(nonce, seg, b"ad")) for _ in range(3))
    t_dec = min(timed(lambda: aead.decrypt(nonce, ct, b"ad")) for _ in range(3))
    t_sha = min(timed(lambda: sha.update(seg)) for _ in range(3))
    print("ceiling (one core, 1 MiB segments)")
    print(f"  AES-256-GCM encrypt        {throughput(n * MiB, t_aes)}")
    print(f"  AES-256-GCM decrypt        {throughput(n * MiB, t_dec)}")
    print(f"  SHA-256                    {throughput(n * MiB, t_sha)}")


def compare(
    label: str, size: int, reps: int, plain: Callable[[], float], ours: Callable[[], float]
) -> None:
    tp, to = [], []
    for _ in range(reps):  # interleaved so drift hits both sides alike
        tp.append(plain())
        to.append(ours())
    mp, mo = statistics.median(tp), statistics.median(to)
    print(
        f"  {label:<26} plain {throughput(size, mp)}  encrypted {throughput(size, mo)}"
        f"  ratio {mp / mo:4.2f}  (best-of ratio {min(tp) / min(to):4.2f})"
    )


def bench_backend(title: str, backend: ObjectStore, size: int, reps: int) -> None:
    block = os.urandom(MiB)
    es = EncryptedStore(backend, Keyring.generate())
    print(f"{title}: {size // MiB} MiB stream, median of {reps}")

    def plain_put() -> float:
        name = new_object_name()
        start = time.perf_counter()
        backend.put(name, Source(size, block))
        elapsed = time.perf_counter() - start
        backend.delete(name)
        return elapsed

    def plain_put_sha() -> float:  # what a plain store with a fixity digest costs
        name, digest = new_object_name(), hashlib.sha256()
        src = Source(size, block)

        class Hashing:
            def read(self, n: int = -1, /) -> bytes:
                data = src.read(n)
                digest.update(data)
                return data

        start = time.perf_counter()
        backend.put(name, Hashing())
        digest.hexdigest()
        elapsed = time.perf_counter() - start
        backend.delete(name)
        return elapsed

    def ours_put() -> float:
        start = time.perf_counter()
        stored = es.store(Source(size, block))
        elapsed = time.perf_counter() - start
        es.erase(stored.object_name)
        return elapsed

    compare("upload vs plain put", size, reps, plain_put, ours_put)
    compare("upload vs plain put+sha256", size, reps, plain_put_sha, ours_put)

    plain_name = new_object_name()
    backend.put(plain_name, Source(size, block))
    stored = es.store(Source(size, block))

    def plain_get() -> float:
        start = time.perf_counter()
        with backend.get(plain_name) as body:
            while body.read(MiB):
                pass
        return time.perf_counter() - start

    def ours_get() -> float:
        start = time.perf_counter()
        with es.open(stored.object_name, stored.wrapped_key) as chunks:
            for _ in chunks:
                pass
        return time.perf_counter() - start

    compare("download vs plain get", size, reps, plain_get, ours_get)
    backend.delete(plain_name)
    es.erase(stored.object_name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - local URL
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def vm_hwm_kib() -> int:
    """The kernel's own high-water mark for this process image (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def rss_child(size: int, folder: str) -> None:
    """In a fresh interpreter: stream `size` bytes through encrypt+store."""
    es = EncryptedStore(LocalStore(folder), Keyring.generate())
    es.backend.ensure_ready()
    es.erase(es.store(Source(MiB, os.urandom(MiB))).object_name)  # warm up imports, pools
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stored = es.store(Source(size, os.urandom(MiB)))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    es.erase(stored.object_name)
    print(json.dumps({"before_kib": before, "peak_kib": after, "hwm_kib": vm_hwm_kib()}))


def rss(small: int, large: int) -> None:
    # Run this before anything big: Linux carries the parent's peak RSS into a
    # child's ru_maxrss across fork+exec, so a bloated parent would hide it.
    print("peak RSS streaming through encrypt+store (local backend, one child process each)")
    peaks = {}
    for size in (small, large):
        folder = tempfile.mkdtemp(prefix="storage-bench-rss-")
        try:
            out = subprocess.run(  # noqa: S603 - our interpreter, this script
                [sys.executable, __file__, "--rss-child", str(size), folder],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        result = json.loads(out)
        peaks[size] = result["peak_kib"]
        print(
            f"  {size / MiB:7.0f} MiB file: ru_maxrss {result['peak_kib'] / 1024:6.1f} MiB "
            f"(after warm-up {result['before_kib'] / 1024:6.1f}; "
            f"VmHWM {result['hwm_kib'] / 1024:6.1f})"
        )
    print(
        f"  growth {small // MiB} MiB -> {large // MiB} MiB: "
        f"{(peaks[large] - peaks[small]) / 1024:.1f} MiB (target < 64 MiB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=256, help="stream size for throughput")
    ap.add_argument("--rss-mib", type=int, default=1024, help="large file for the RSS test")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-s3", action="store_true", help="skip the moto S3 backend")
    ap.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        rss_child(int(args.rss_child[0]), args.rss_child[1])
        return

    size = args.size_mib * MiB
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    rss(MiB, args.rss_mib * MiB)
    print()
    ceiling(min(size, 256 * MiB))
    with tempfile.TemporaryDirectory(prefix="storage-bench-") as folder:
        local = LocalStore(folder)
        local.ensure_ready()
        print()
        bench_backend("local folder (fsync on)", local, size, args.reps)
    if not args.no_s3:
        with moto_server() as endpoint:
            s3 = S3Store(
                S3Config(
                    endpoint, "bench", "bench-secret", "bench", secure=False, region="us-east-1"
                )
            )
            s3.ensure_ready()
            print()
            bench_backend(f"S3 (moto at {endpoint}, part 16 MiB)", s3, size, args.reps)
            s3.close()


if __name__ == "__main__":
    main()
