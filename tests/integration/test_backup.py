"""Backups that cannot be trusted are refused: tampered parts, missing objects, an
interrupted backup, a wrong passphrase; keys are never in the clear; incremental copies;
the destruction journal survives a target that is down."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archive_service.backup import vocabulary as v
from archive_service.backup.journal import sweep
from archive_service.backup.manifest import BadBackup, snapshot_dir, snapshots
from archive_service.backup.restore import restore
from archive_service.backup.sealing import WrongPassphrase, unseal
from archive_service.backup.services import backup_now, verify
from archive_service.backup.target import FolderTarget, open_target
from archive_service.cli import main
from archive_service.config import Settings
from archive_service.disposal.models import Destruction
from archive_service.instance import ensure_instance, secret_key
from archive_service.migrate import upgrade
from archive_service.runtime import Runtime, build_runtime
from tests import samples
from tests.conftest import CHEAP_HASHING, People
from tests.integration.backup_drill import PASSPHRASE, Drill, organisation
from workers.sender import connect


def embedded(instance: Path, backup_to: Path) -> Settings:
    return Settings(
        instance_dir=instance,
        celery_always_eager=True,
        backup_to=str(backup_to),
        backup_passphrase=PASSPHRASE,
        **CHEAP_HASHING,
    ).with_defaults()


@pytest.fixture
def inst(tmp_path: Path) -> Iterator[Runtime]:
    settings = embedded(tmp_path / "instance", tmp_path / "backups")
    ensure_instance(settings)
    secret_key(settings)  # the session secret, as the web app makes it
    upgrade(settings.database_url)
    rt = connect(build_runtime(settings))
    people = People(rt)
    people.department("OPS")
    people.user("clara", "clerk", department="SALES")
    yield rt
    rt.close()


def _document(rt: Runtime, title: str) -> int:
    people = People(rt)
    customer = people.customer("clara", name=f"客户{title}")
    return people.document("clara", customer, samples.pdf(title), title=title)


def _target(rt: Runtime) -> FolderTarget:
    target = open_target(rt.settings)
    assert isinstance(target, FolderTarget)
    return target


def _verify(target: FolderTarget, tmp: Path, **kw: Any) -> Any:
    work = tmp / "verify"
    work.mkdir(exist_ok=True)
    return verify(target, None, work, PASSPHRASE, **kw)[0]


def test_incremental_backup_copies_only_new_objects(inst: Runtime, tmp_path: Path) -> None:
    _document(inst, "一")
    first = backup_now(inst)
    assert first is not None and first.copied == first.objects > 0
    _document(inst, "二")
    second = backup_now(inst)
    assert second is not None and second.stamp != first.stamp
    assert second.objects > first.objects
    assert second.copied == second.objects - first.objects  # the old ones stayed put
    assert _verify(_target(inst), tmp_path, deep=True).ok


@pytest.fixture
def made(inst: Runtime) -> str:
    _document(inst, "一")
    result = backup_now(inst)
    assert result is not None
    return result.stamp


def test_verify_detects_a_tampered_part(inst: Runtime, made: str, tmp_path: Path) -> None:
    target = _target(inst)
    assert _verify(target, tmp_path).ok
    dump = target.root / snapshot_dir(made) / v.DATABASE
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))
    with pytest.raises(BadBackup, match="database.dump was altered"):
        _verify(target, tmp_path)
    # The command line says so and exits non-zero.
    out = CliRunner().invoke(
        main,
        ["backup", "verify", str(target.root)],
        env={
            "ARCHIVE_INSTANCE_DIR": str(inst.settings.instance_dir),
            "ARCHIVE_BACKUP_PASSPHRASE": PASSPHRASE,
        },
    )
    assert out.exit_code == 1 and "altered" in out.output


def test_verify_detects_a_missing_object(inst: Runtime, made: str, tmp_path: Path) -> None:
    target = _target(inst)
    listed = json.loads((target.root / snapshot_dir(made) / v.OBJECT_LIST).read_text())
    gone = sorted(listed)[0]
    target.objects().delete(gone)
    result = _verify(target, tmp_path)
    assert not result.ok and gone in result.problems[0]
    fresh = embedded(tmp_path / "empty", target.root)
    with pytest.raises(BadBackup, match=gone):
        restore(fresh, target, None, PASSPHRASE)


def test_a_forged_manifest_is_refused(inst: Runtime, made: str, tmp_path: Path) -> None:
    target = _target(inst)
    path = target.root / snapshot_dir(made) / v.MANIFEST
    doc = json.loads(path.read_text())
    doc["manifest"]["objects"]["count"] += 1
    path.write_text(json.dumps(doc))
    with pytest.raises(BadBackup, match="signature is not valid"):
        _verify(target, tmp_path)


def test_an_interrupted_backup_is_never_trusted(inst: Runtime, made: str, tmp_path: Path) -> None:
    target = _target(inst)
    # A backup killed before its manifest: every part there, but no manifest.
    os.rename(target.root / snapshot_dir(made) / v.MANIFEST, target.root / "manifest.kept-aside")
    assert snapshots(target) == ([], [made])
    with pytest.raises(BadBackup, match="no complete backup"):
        _verify(target, tmp_path)
    with pytest.raises(BadBackup, match="incomplete"):
        verify(target, made, tmp_path, PASSPHRASE)
    fresh = embedded(tmp_path / "empty", target.root)
    with pytest.raises(BadBackup, match="incomplete"):
        restore(fresh, target, made, PASSPHRASE)
    assert not Path(fresh.database_url.removeprefix("sqlite:///")).exists()


def test_a_wrong_passphrase_is_refused_and_changes_nothing(
    inst: Runtime, made: str, tmp_path: Path
) -> None:
    target = _target(inst)
    fresh = embedded(tmp_path / "empty", target.root)
    with pytest.raises(WrongPassphrase, match="does not open"):
        restore(fresh, target, None, "not the passphrase")
    assert not [p for p in Path(fresh.instance_dir).rglob("*") if p.is_file()]


def test_sealed_keys_hold_no_key_in_the_clear(inst: Runtime, made: str) -> None:
    target = _target(inst)
    sealed = (target.root / snapshot_dir(made) / v.KEYS).read_bytes()
    inst_dir = Path(inst.settings.instance_dir)
    keyring = json.loads((inst_dir / "keyring.json").read_text())
    materials = [k["key"] for k in keyring["keys"].values()]
    for name in ("signing_key.pem", "audit_key.pem"):
        pem = (inst_dir / name).read_text()
        materials.append(pem.splitlines()[1])  # the key's base64 line
    materials.append((inst_dir / "search_key").read_text().strip())
    materials.append((inst_dir / "secret_key").read_text().strip())
    opened = unseal(sealed, PASSPHRASE, made)
    assert sorted(opened) == ["audit_key", "keyring", "search_key", "secret_key", "signing_key"]
    for material in materials:
        assert material.encode() not in sealed
    # Nowhere else in the backup either.
    for path in target.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(m.encode() in data for m in materials), path


def test_the_journal_survives_a_target_that_is_down(tmp_path: Path) -> None:
    """A destruction completes while the target is unreachable: it stands, the failure
    shows on it, and the sweep writes the entry once the target is back."""
    backups = tmp_path / "backups"
    settings = embedded(tmp_path / "instance", backups)
    ensure_instance(settings)
    upgrade(settings.database_url)
    rt = connect(build_runtime(settings))
    try:
        People(rt).department("OPS")
        organisation(People(rt))
        drill = Drill.on(rt)
        old = People(rt).customer("clara", name="旧客户")
        drill.file("due", old, long_ago=True)
        rid, listed = drill.compile_review()
        backups.write_text("not a folder")  # the target cannot be written
        did = drill.destroy(rid, listed)
        with rt.db.unit_of_work() as s:
            dest = s.get(Destruction, did)
            assert dest is not None and dest.status == "completed"
            assert dest.journaled_at is None and dest.journal_error
        shown = drill.client.get(f"/api/v1/destructions/{did}", headers=drill.h["audrey"])
        assert shown.get_json()["journal"]["error"]
        backups.unlink()
        assert sweep(rt) == [did]
        assert sweep(rt) == []  # once
        target = _target(rt)
        assert target.list(v.JOURNAL_DIR) and len(target.list(v.JOURNAL_DIR)) == 1
        shown = drill.client.get(f"/api/v1/destructions/{did}", headers=drill.h["audrey"])
        journal = shown.get_json()["journal"]
        assert journal["written_at"] and journal["error"] is None
        assert journal["backup_horizon"]  # no backup held the keys: the day itself
    finally:
        rt.close()


def test_old_snapshots_are_pruned_with_the_objects_only_they_listed(
    inst: Runtime, tmp_path: Path
) -> None:
    import io
    from dataclasses import replace

    import time_machine

    from archive_service.db import utcnow

    _document(inst, "一")
    with time_machine.travel(utcnow() - timedelta(days=30), tick=True):
        old = backup_now(inst)
    assert old is not None
    target = _target(inst)
    stray = "ab" * 16  # an object no snapshot lists (a killed backup's, say)
    target.objects().put(stray, io.BytesIO(b"ciphertext"), 10)
    inst.settings = replace(inst.settings, backup_keep_daily=1, backup_keep_weekly=0)
    new = backup_now(inst)
    assert new is not None and new.pruned == [old.stamp]
    assert snapshots(target) == ([new.stamp], [])
    assert not target.objects().exists(stray)
    assert _verify(target, tmp_path, deep=True).ok


def test_a_backup_killed_mid_way_is_incomplete_and_the_next_one_completes(
    inst: Runtime, tmp_path: Path
) -> None:
    """SIGKILL the ``archive backup`` process while it copies objects: no manifest, so
    nothing trusts it; the next backup completes, copying only what is still missing."""
    import io
    import signal
    import subprocess
    import sys
    import time

    with inst.db.unit_of_work() as s:
        for n in range(300):
            inst.vault.put(s, io.BytesIO(os.urandom(4096) + bytes([n % 256])))
    target = _target(inst)
    env = {
        **os.environ,
        "ARCHIVE_INSTANCE_DIR": str(inst.settings.instance_dir),
        "ARCHIVE_BACKUP_TO": str(target.root),
        "ARCHIVE_BACKUP_PASSPHRASE": PASSPHRASE,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    proc = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "archive_service.cli", "backup"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    objects = target.root / "objects"
    while not (objects.is_dir() and any(objects.rglob("*"))):
        assert proc.poll() is None, "the backup ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    complete, incomplete = snapshots(target)
    assert complete == [] and len(incomplete) == 1
    with pytest.raises(BadBackup, match="no complete backup"):
        _verify(target, tmp_path)
    copied_before = len(list(target.objects().list_names()))
    result = backup_now(inst)
    assert result is not None
    assert result.copied == result.objects - copied_before
    assert _verify(target, tmp_path, deep=True).ok


def test_an_s3_target_nobody_answers_is_a_target_error() -> None:
    """urllib3 gives up with MaxRetryError, which is no OSError: callers that handle a
    target that is down (the journal sweep, replicas, the fixity repair) must see it as one."""
    import socket

    from archive_service.backup.target import S3Place, S3Target, TargetError

    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = S3Target(S3Place(f"127.0.0.1:{port}", "k", "s", False, "backups", ""))
    with pytest.raises(TargetError, match="unreachable"):
        target.exists("journal/x.json")
