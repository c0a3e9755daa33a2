"""How long ``POST /api/v1/auth/token`` takes to refuse, by reason, in one run.

Reasons: an unknown username, a wrong password, and an address waiting after repeated
failures (where the old lock answered ``account_locked`` in ~10 ms against ~170 ms for
an unknown name); the right password beside them. The password hasher runs at its
production cost (argon2id, argon2-cffi's recommendation) on the embedded default
(SQLite in a temporary folder). Printed: the median and p90 of each, and each median
as a ratio of the unknown-name median (≈ 1.0 means the answer tells nothing). Usage::

    python benchmarks/signin_timing.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive_service.accounts import users  # noqa: E402
from archive_service.app import create_app  # noqa: E402
from archive_service.config import Settings  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.policy import Caller  # noqa: E402
from storage.keyring import Keyring  # noqa: E402

PASSWORD = "timing bench passphrase 9"  # noqa: S105 - a throw-away account of the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        Keyring.generate().save(instance / "keyring.json")
        settings = Settings(
            instance_dir=instance,
            secret_key="bench",  # noqa: S106 - the run's own instance
            celery_always_eager=True,
        ).with_defaults()
        upgrade(settings.database_url)
        app = create_app(settings)
        rt = app.extensions["archive"]
        with rt.db.unit_of_work() as s:
            users.create_user(
                s,
                Caller.cli(),
                username="clara",
                password=PASSWORD,
                display_name="Clara",
                department=None,
                roles=["requester"],
                settings=rt.accounts,
            )
        client = app.test_client()

        def answer(name: str, password: str, address: str) -> float:
            start = time.perf_counter()
            client.post(
                "/api/v1/auth/token",
                json={"username": name, "password": password},
                environ_base={"REMOTE_ADDR": address},
            )
            return time.perf_counter() - start

        for _ in range(rt.accounts.throttle.threshold):  # this address now waits
            answer("clara", "guessing wrong", "203.0.113.9")
        cases = {
            "unknown name": ("nobody-here", "guessing wrong", "2001:db8::1:"),
            "wrong password": ("clara", "guessing wrong", "2001:db8::2:"),
            "address waiting": ("clara", PASSWORD, "203.0.113.9"),
            "right password": ("clara", PASSWORD, "192.0.2.3"),
        }
        times: dict[str, list[float]] = {case: [] for case in cases}
        for n in range(args.rounds):
            for case, (name, password, address) in cases.items():
                # A new address per failing attempt, so none of them starts waiting.
                failing = case in ("unknown name", "wrong password")
                where = f"{address}{n}" if failing else address
                times[case].append(answer(name, password, where))
        base = statistics.median(times["unknown name"])
        print(f"argon2id time_cost={rt.accounts.passwords.cost.time_cost}, {args.rounds} rounds")
        for case, values in times.items():
            med = statistics.median(values)
            p90 = statistics.quantiles(values, n=10)[-1]
            ratio = med / base
            print(f"{case:16} median {med * 1e3:6.1f} ms  p90 {p90 * 1e3:6.1f} ms  ×{ratio:.2f}")
        rt.close()


if __name__ == "__main__":
    main()
