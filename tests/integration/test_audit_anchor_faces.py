"""The anchor's other faces: the command line, the beat's task, the key settings."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from archive_service.audit.signing import load_audit_key
from archive_service.config import Settings
from archive_service.runtime import Runtime
from tests.integration.test_audit_anchor import _verify, _write, cut_off_after
from tests.integration.test_cli import run_cli  # noqa: F401 (a fixture)
from workers.celery_app import make_celery


def test_the_command_line_writes_checkpoints_and_verify_names_truncation(
    run_cli: Any,  # noqa: F811
    rt: Runtime,
) -> None:
    run_cli("init")
    first = run_cli("audit", "checkpoint")
    assert first.exit_code == 0, first.output
    written = json.loads(first.output)
    assert written["written"] is True and written["checkpoint"] == 1
    assert json.loads(run_cli("audit", "checkpoint").output)["written"] is False
    ok = run_cli("audit", "verify")
    assert ok.exit_code == 0 and json.loads(ok.output)["checkpoints"] == 1
    cut_off_after(rt, written["seq"] - 1)
    broken = run_cli("audit", "verify")
    assert broken.exit_code == 1
    body = json.loads(broken.output)
    assert (body["ok"], body["reason"]) == (False, "chain cut off before a checkpoint")
    refused = run_cli("audit", "checkpoint")
    assert refused.exit_code == 1 and "not anchoring" in refused.output


def test_keygen_and_public_key(
    run_cli: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "secrets" / "audit_key.pem"
    assert run_cli("audit", "keygen", "--file", str(path)).exit_code == 0
    assert path.stat().st_mode & 0o077 == 0
    again = run_cli("audit", "keygen", "--file", str(path))
    assert again.exit_code != 0 and "refusing to overwrite" in again.output
    monkeypatch.setenv("ARCHIVE_AUDIT_KEY_FILE", str(path))
    public = run_cli("audit", "public-key").output
    assert public.startswith("-----BEGIN PUBLIC KEY-----")
    destruction = run_cli("destruction", "public-key").output
    assert public != destruction  # a key of its own


def test_a_verifying_process_may_hold_only_the_public_key(
    rt: Runtime, settings: Settings, tmp_path: Path
) -> None:
    from archive_service.audit.anchor import Anchor
    from archive_service.audit.anchoring import write_checkpoint
    from archive_service.audit.services import Actor
    from archive_service.audit.signing import NoSigningKey

    _write(rt, 2)
    assert write_checkpoint(rt.db, rt.anchor, Actor.system()).written
    public_file = tmp_path / "audit_public.pem"
    public_file.write_text(rt.anchor.key.public_pem)
    public_only = load_audit_key(
        replace(settings, instance_dir=tmp_path / "web", audit_public_key_file=str(public_file))
    )
    assert not public_only.can_sign
    web = Anchor(public_only, rt.anchor.stores)
    assert web.read().findings == [] and len(web.read().entries) == 1
    _write(rt, 1)
    with pytest.raises(NoSigningKey):
        write_checkpoint(rt.db, web, Actor.system())
    # A public key that is not the private key's half is refused at start.
    other = tmp_path / "other.pem"
    other.write_text(load_audit_key(replace(settings, instance_dir=tmp_path / "x")).public_pem)
    with pytest.raises(ValueError, match="not the public half"):
        load_audit_key(
            replace(
                settings,
                audit_key_file=str(Path(settings.instance_dir) / "audit_key.pem"),
                audit_public_key_file=str(other),
            )
        )


def test_the_beat_writes_checkpoints_and_the_task_calls_the_service(rt: Runtime) -> None:
    from workers import tasks
    from workers.context import use_runtime

    schedule = make_celery(replace(rt.settings, audit_checkpoint_minutes=10)).conf.beat_schedule
    assert schedule["write-audit-checkpoint"] == {
        "task": "workers.tasks.write_audit_checkpoint",
        "schedule": 600.0,
    }
    _write(rt, 3)
    use_runtime(rt)
    try:
        assert tasks.write_audit_checkpoint()["written"] is True
        assert tasks.verify_audit_chain()["checkpoints"] == 1
    finally:
        use_runtime(None)
    assert _verify(rt).ok


def test_the_anchor_folder_defaults_into_the_instance_unless_a_bucket_is_named(
    tmp_path: Path,
) -> None:
    plain = Settings.from_env({"ARCHIVE_INSTANCE_DIR": str(tmp_path)})
    assert plain.audit_anchor_dir == str(tmp_path.resolve() / "audit-anchor")
    bucket = Settings.from_env(
        {"ARCHIVE_INSTANCE_DIR": str(tmp_path), "ARCHIVE_AUDIT_ANCHOR_S3_BUCKET": "anchor"}
    )
    assert bucket.audit_anchor_dir == ""
    both = Settings.from_env(
        {
            "ARCHIVE_INSTANCE_DIR": str(tmp_path),
            "ARCHIVE_AUDIT_ANCHOR_S3_BUCKET": "anchor",
            "ARCHIVE_AUDIT_ANCHOR_DIR": "/mnt/anchor",
        }
    )
    assert both.audit_anchor_dir == "/mnt/anchor"
