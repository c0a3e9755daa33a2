"""Checkpoints in a bucket of their own (a real moto S3 server through the minio client, as
production reaches MinIO), alone and beside the file store."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from archive_service.audit.anchor import Anchor
from archive_service.audit.anchor_stores import AnchorUnavailable, FileAnchor, ObjectAnchor
from archive_service.audit.anchoring import write_checkpoint
from archive_service.config import Settings
from archive_service.runtime import Runtime, build_runtime
from tests.integration.test_audit_anchor import SCHEDULER, _verify, _write, cut_off_after
from tests.storage.conftest import moto_endpoint  # noqa: F401 (a fixture)
from workers.sender import connect


def _anchor_settings(settings: Settings, endpoint: str, **more: object) -> Settings:
    fields: dict[str, object] = {
        "audit_anchor_dir": "",
        "audit_anchor_s3_bucket": f"anchor-{secrets.token_hex(5)}",
        "audit_anchor_s3_endpoint": endpoint,
        "audit_anchor_s3_access_key": "testing",
        "audit_anchor_s3_secret_key": "testing-secret",
        "s3_secure": False,
    }
    return replace(settings, **{**fields, **more}).with_defaults()  # type: ignore[arg-type]


@pytest.fixture
def s3_rt(settings: Settings, moto_endpoint: str) -> Iterator[Runtime]:  # noqa: F811
    runtime = connect(build_runtime(_anchor_settings(settings, moto_endpoint)))
    yield runtime
    runtime.close()


@pytest.fixture
def both_rt(settings: Settings, moto_endpoint: str) -> Iterator[Runtime]:  # noqa: F811
    folder = str(Path(settings.instance_dir) / "anchor")
    runtime = connect(
        build_runtime(_anchor_settings(settings, moto_endpoint, audit_anchor_dir=folder))
    )
    yield runtime
    runtime.close()


def _bucket(rt: Runtime) -> ObjectAnchor:
    store = rt.anchor.stores[-1]
    assert isinstance(store, ObjectAnchor)
    return store


def test_checkpoints_go_to_the_bucket_one_object_each(s3_rt: Runtime) -> None:
    assert [type(s) for s in s3_rt.anchor.stores] == [ObjectAnchor]  # no file unless asked
    _write(s3_rt, 3)
    assert write_checkpoint(s3_rt.db, s3_rt.anchor, SCHEDULER).written
    _write(s3_rt, 1)
    assert write_checkpoint(s3_rt.db, s3_rt.anchor, SCHEDULER).written
    store = _bucket(s3_rt)
    assert sorted(store.store.list_names()) == ["0000000000000001", "0000000000000002"]
    assert "审阅" not in "".join(store.read() or [])
    result = _verify(s3_rt)
    assert (result.ok, result.checkpoints) == (True, 2)
    # The bucket keeps versions: a checkpoint is never overwritten in place.
    with pytest.raises(AnchorUnavailable, match="already stored"):
        store.append(1, "{}")


def test_truncation_is_named_against_the_bucket(s3_rt: Runtime) -> None:
    _write(s3_rt, 5)
    assert write_checkpoint(s3_rt.db, s3_rt.anchor, SCHEDULER).written
    cut_off_after(s3_rt, 2)
    result = _verify(s3_rt)
    assert (result.ok, result.findings[0].code, result.first_broken) == (False, "truncated", 3)


def test_an_unreachable_bucket_is_a_missing_anchor(settings: Settings) -> None:
    rt = connect(build_runtime(_anchor_settings(settings, "127.0.0.1:9")))
    try:
        _write(rt, 2)
        result = _verify(rt)
        assert (result.ok, result.reason) == (False, "anchor store missing")
        assert result.findings[0].store == "s3:127.0.0.1:9/" + rt.settings.audit_anchor_s3_bucket
        assert "testing-secret" not in str(result.as_dict())
    finally:
        rt.close()


def test_a_store_that_missed_checkpoints_is_named_then_catches_up(both_rt: Runtime) -> None:
    file_store, bucket = both_rt.anchor.stores
    assert isinstance(file_store, FileAnchor)
    _write(both_rt, 3)
    # Written while only the file was configured (or the bucket was down).
    only_file = Anchor(both_rt.anchor.key, (file_store,))
    assert write_checkpoint(both_rt.db, only_file, SCHEDULER).written
    result = _verify(both_rt)
    assert (result.ok, result.reason) == (False, "anchor store missing")
    assert result.findings[0].store == bucket.name
    _write(both_rt, 1)
    assert write_checkpoint(both_rt.db, both_rt.anchor, SCHEDULER).written
    assert [len(s.read() or []) for s in both_rt.anchor.stores] == [2, 2]
    assert file_store.read() == bucket.read()  # signed lines, copied as they are
    assert _verify(both_rt).ok


def test_a_checkpoint_deleted_from_the_bucket_is_named_though_the_file_has_it(
    both_rt: Runtime,
) -> None:
    for _ in range(2):
        _write(both_rt, 2)
        assert write_checkpoint(both_rt.db, both_rt.anchor, SCHEDULER).written
    _bucket(both_rt).store.delete("0000000000000001")
    result = _verify(both_rt)
    assert not result.ok
    finding = result.findings[0]
    assert (finding.code, finding.checkpoint) == ("checkpoint_sequence", 1)
    assert finding.store is not None and finding.store.startswith("s3:")
    assert result.checkpoints == 2  # the file's run still holds
