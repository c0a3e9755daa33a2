"""The vault in the service: rows only after durable objects, rotation, health, consistency."""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from archive_service.cli import main
from archive_service.runtime import build_runtime
from archive_service.vault.models import StoredObject
from archive_service.vault.services import consistency, keys_in_use
from storage.errors import StoreUnavailable
from storage.keyring import Keyring

CONTENT = "客户档案 customer archive ".encode() * 5000


def _put(rt: Any, data: bytes = CONTENT) -> StoredObject:
    with rt.db.unit_of_work() as s:
        return rt.vault.put(s, io.BytesIO(data))


def _read(rt: Any, object_id: int) -> bytes:
    with rt.db.unit_of_work() as s:
        obj = s.get(StoredObject, object_id)
        return b"".join(rt.vault.open(obj))


def test_round_trip_and_nothing_in_plaintext_on_disk(rt: Any) -> None:
    obj = _put(rt)
    assert obj.size == len(CONTENT) and len(obj.sha256) == 64
    assert _read(rt, obj.id) == CONTENT
    # The stored bytes hold neither the content nor anything about it.
    raw = b"".join(p.read_bytes() for p in _files(rt.settings.storage_dir))
    assert "客户档案".encode() not in raw and b"customer" not in raw
    # Object names are random hex, unrelated to the content.
    assert all(
        all(c in "0123456789abcdef" for c in p.name) for p in _files(rt.settings.storage_dir)
    )


def _files(root: str) -> list[Any]:
    from pathlib import Path

    return [p for p in Path(root).rglob("*") if p.is_file()]


def test_store_down_leaves_no_row(settings: Any) -> None:
    broken = replace(
        settings,
        storage="s3",
        s3_endpoint="127.0.0.1:9",
        s3_access_key="x",
        s3_secret_key="y",
        s3_secure=False,
    )
    rt = build_runtime(broken)
    try:
        with pytest.raises(StoreUnavailable), rt.db.unit_of_work() as s:
            rt.vault.put(s, io.BytesIO(CONTENT))
        with rt.db.unit_of_work() as s:
            assert s.execute(select(func.count()).select_from(StoredObject)).scalar_one() == 0
    finally:
        rt.close()


def test_health_is_503_when_the_store_is_unreachable(settings: Any) -> None:
    from archive_service.app import create_app

    broken = replace(
        settings,
        storage="s3",
        s3_endpoint="127.0.0.1:9",
        s3_access_key="x",
        s3_secret_key="y",
        s3_secure=False,
    )
    resp = create_app(broken).test_client().get("/api/v1/health")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["checks"]["object_store"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    # Anyone may call the health check: it names the failure, never the configuration.
    assert body["checks"]["object_store"]["error"] == "StoreUnavailable"


def test_rotation_rewraps_every_key_and_keeps_content_readable(
    rt: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = [_put(rt, CONTENT + bytes([i])) for i in range(3)]
    old_key = rt.vault.keyring.active_key_id
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARCHIVE_KEYRING_FILE", settings.keyring_file)
    runner = CliRunner()
    # Retiring a key still in use is refused.
    refused = runner.invoke(main, ["keys", "retire", old_key])
    assert refused.exit_code == 1 and "still depend" in refused.output
    rotated = runner.invoke(main, ["keys", "rotate", "--wait"], catch_exceptions=False)
    assert rotated.exit_code == 0, rotated.output
    assert "re-wrapped 3 data keys" in rotated.output
    new_key = Keyring.load(settings.keyring_file).active_key_id
    assert new_key != old_key
    with rt.db.unit_of_work() as s:
        assert keys_in_use(s) == {new_key: 3}
        stored = s.execute(select(StoredObject.wrapped_key)).scalars().all()
        assert all(old_key not in w for w in stored)
    # The running process sees the new key without a restart, and content is intact.
    for i, obj in enumerate(objects):
        assert _read(rt, obj.id) == CONTENT + bytes([i])
    retired = runner.invoke(main, ["keys", "retire", old_key], catch_exceptions=False)
    assert retired.exit_code == 0, retired.output
    assert old_key not in Keyring.load(settings.keyring_file).key_ids
    assert _read(rt, objects[0].id) == CONTENT + bytes([0])
    status = json.loads(runner.invoke(main, ["keys", "status"]).output)
    assert status["active"] == new_key and old_key in status["retired"]


def test_wrong_master_key_fails_clearly(rt: Any, settings: Any) -> None:
    obj = _put(rt)
    Keyring.generate().save(settings.keyring_file)  # somebody swaps the keyring
    os.utime(settings.keyring_file, ns=(1, 1))
    with pytest.raises(Exception, match="(?i)key"):
        _read(rt, obj.id)


def test_consistency_reports_both_directions(rt: Any) -> None:
    kept = _put(rt)
    lost = _put(rt, b"lost one")
    orphan = rt.vault.store.store(io.BytesIO(b"no row for me"))
    rt.vault.backend.delete(lost.object_name)
    with rt.db.unit_of_work() as s:
        result = consistency(s, rt.vault)
    assert result.rows_without_object == [lost.object_name]
    assert result.objects_without_row == [orphan.object_name]
    assert kept.object_name not in result.rows_without_object
