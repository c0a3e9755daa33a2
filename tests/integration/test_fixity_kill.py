"""A sweep SIGKILLed half way: the next run starts after the cursor the killed one saved."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from archive_service.fixity.rules import Plan
from archive_service.fixity.services import state
from tests.integration.fixity_helpers import put, sweeper

ROOT = Path(__file__).resolve().parents[2]
DATA = "巡检 sweep ".encode() * 40_000  # ~0.5 MB each


def _cursor(rt: Any) -> int:
    with rt.db.unit_of_work() as s:
        return state(s).cursor


def test_a_killed_sweep_resumes_from_its_cursor(rt: Any) -> None:
    objects = [put(rt, DATA + bytes([i])) for i in range(12)]  # ~6 MB: ~6 s at 1 MB/s
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ARCHIVE_INSTANCE_DIR": str(rt.settings.instance_dir),
        "ARCHIVE_DATABASE_URL": rt.settings.database_url,
        "ARCHIVE_KEYRING_FILE": rt.settings.keyring_file,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archive_service.cli",
            "storage",
            "fixity",
            "--all",
            "--mb-per-s",
            "1",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _cursor(rt) == 0:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sweep saved no cursor"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    stopped_at = _cursor(rt)
    ids = [o.id for o in objects]
    assert ids[0] <= stopped_at < ids[-1]  # killed in the middle, its progress kept
    # The next run (a slice with the whole rest as its budget) starts after the cursor.
    plan = Plan(mb_per_s=0, period=timedelta(days=1), every=timedelta(days=1))
    result = sweeper(rt, plan=plan).run_slice()
    rest = [i for i in ids if i > stopped_at]
    assert (result.first_id, result.last_id, result.checked) == (rest[0], ids[-1], len(rest))
    assert result.failed == 0 and result.rounds_finished == 1
    with rt.db.unit_of_work() as s:
        st = state(s)
        # Each object counted once in the round: what the killed run saved, then the rest.
        assert st.cursor == ids[-1] and st.last_round_checked is not None
        assert st.last_round_checked == len(ids)
