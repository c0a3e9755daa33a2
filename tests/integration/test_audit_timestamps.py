"""RFC 3161 time-stamps of checkpoints, against a local authority (OpenSSL's ``ts``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from archive_service.audit.anchor import Anchor
from archive_service.audit.anchor_stores import FileAnchor
from archive_service.audit.anchoring import write_checkpoint
from archive_service.audit.checkpoints import Entry, first_or_next
from archive_service.audit.setup import build_anchor
from archive_service.audit.timestamps import TimestampAuthority, TimestampFailed
from archive_service.config import Settings
from archive_service.db import utcnow
from archive_service.runtime import Runtime, build_runtime
from tests.conftest import unavailable
from tests.integration.test_audit_anchor import SCHEDULER, _anchor_file, _verify, _write
from tests.integration.tsa import LocalTSA, local_tsa, make_ca, openssl_ts_available
from workers.sender import connect


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    if not openssl_ts_available():
        unavailable("openssl with the ts command is not installed")
    with local_tsa(tmp_path_factory.mktemp("tsa")) as authority:
        yield authority


@pytest.fixture
def ts_rt(settings: Settings, tsa: LocalTSA) -> Iterator[Runtime]:
    stamped = replace(settings, audit_tsa_url=tsa.url, audit_tsa_ca_file=str(tsa.ca_file))
    runtime = connect(build_runtime(stamped))
    yield runtime
    runtime.close()


def test_each_checkpoint_is_stamped_and_the_stamp_is_checked(ts_rt: Runtime) -> None:
    _write(ts_rt, 2)
    first = write_checkpoint(ts_rt.db, ts_rt.anchor, SCHEDULER)
    _write(ts_rt, 2)
    second = write_checkpoint(ts_rt.db, ts_rt.anchor, SCHEDULER)
    assert first.as_dict()["timestamped"] and second.as_dict()["timestamped"]
    assert first.entry is not None and first.entry.timestamp is not None
    authority = ts_rt.anchor.tsa
    assert authority is not None
    stamped_at = authority.check(first.entry.timestamp, first.entry.checkpoint.canonical())
    assert abs(stamped_at - utcnow()) < timedelta(minutes=1)
    result = _verify(ts_rt)
    assert (result.ok, result.checkpoints) == (True, 2)


def test_a_stamp_moved_to_another_checkpoint_is_named(ts_rt: Runtime) -> None:
    for _ in range(2):
        _write(ts_rt, 2)
        assert write_checkpoint(ts_rt.db, ts_rt.anchor, SCHEDULER).written
    path = _anchor_file(ts_rt)
    one, two = (json.loads(line) for line in path.read_text().splitlines())
    two["timestamp"] = one["timestamp"]  # the signature does not cover the stamp
    path.write_text(json.dumps(one) + "\n" + json.dumps(two) + "\n")
    result = _verify(ts_rt)
    assert not result.ok
    assert (result.findings[0].code, result.findings[0].checkpoint) == ("timestamp_invalid", 2)
    assert result.reason == "checkpoint time-stamp invalid"


def test_a_stamp_from_an_authority_we_do_not_trust_is_named(
    ts_rt: Runtime, tsa: LocalTSA, tmp_path: Path
) -> None:
    _write(ts_rt, 2)
    assert write_checkpoint(ts_rt.db, ts_rt.anchor, SCHEDULER).written
    other_root, _crt, _key = make_ca(tmp_path / "other", "Another Root")
    distrusting = Anchor(
        ts_rt.anchor.key,
        ts_rt.anchor.stores,
        TimestampAuthority.from_files(tsa.url, str(other_root), 5),
    )
    codes = [f.code for f in distrusting.read().findings]
    assert codes == ["timestamp_invalid"]


def test_a_backdated_checkpoint_is_caught_by_its_stamp(ts_rt: Runtime, tmp_path: Path) -> None:
    """The audit key's holder signs a checkpoint dated an hour ago: the authority's time
    gives it away."""
    key, authority = ts_rt.anchor.key, ts_rt.anchor.tsa
    assert authority is not None
    cp = first_or_next(None, seq=1, hash="a" * 64, at=utcnow() - timedelta(hours=1), key=key.key_id)
    entry = Entry(cp, key.sign(cp.signed_bytes()), authority.stamp(cp.canonical()))
    store = FileAnchor(tmp_path / "anchor")
    store.append(1, entry.line())
    reading = Anchor(key, (store,), authority).read()
    assert [f.code for f in reading.findings] == ["timestamp_invalid"]
    assert "stamped at" in (reading.findings[0].detail or "")


def test_an_unreachable_authority_still_leaves_a_checkpoint(
    settings: Settings, tsa: LocalTSA
) -> None:
    down = replace(
        settings,
        audit_tsa_url="http://127.0.0.1:9/tsa",
        audit_tsa_ca_file=str(tsa.ca_file),
        audit_tsa_timeout_seconds=2,
    )
    rt = connect(build_runtime(down))
    try:
        _write(rt, 2)
        result = write_checkpoint(rt.db, rt.anchor, SCHEDULER)
        assert result.written and not result.as_dict()["timestamped"]
        assert result.note is not None and result.note.startswith("not time-stamped")
        assert _verify(rt).ok  # a missing stamp is no tampering; a wrong one is
    finally:
        rt.close()


def test_an_authority_answering_garbage_is_refused(tsa: LocalTSA) -> None:
    authority = TimestampAuthority.from_files(tsa.url, str(tsa.ca_file), 5)
    with pytest.raises(TimestampFailed):
        authority.check("bm90IGEgdGltZS1zdGFtcA==", b"message")
    with pytest.raises(TimestampFailed):
        authority.check("not base64 at all!", b"message")


def test_an_authority_without_trusted_roots_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="ARCHIVE_AUDIT_TSA_CA_FILE"):
        build_anchor(replace(settings, audit_tsa_url="http://127.0.0.1:9/tsa"))
