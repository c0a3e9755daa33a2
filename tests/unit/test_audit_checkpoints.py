"""The checkpoint rules, without a database: format, signatures, sequence, the chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archive_service.audit.chain import GENESIS
from archive_service.audit.checkpoints import (
    BadEntry,
    Checkpoint,
    Entry,
    check_sequence,
    compare_chain,
    first_or_next,
)
from archive_service.audit.signing import AuditKey, new_key_pem
from archive_service.audit.vocabulary import FINDINGS, reason

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _key() -> AuditKey:
    private = serialization.load_pem_private_key(new_key_pem().encode(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    return AuditKey(private.public_key(), private)


def _run(key: AuditKey, pins: list[tuple[int, str]]) -> list[Entry]:
    """Signed checkpoints pinning (seq, hash) in order, a minute apart."""
    out: list[Entry] = []
    for i, (seq, h) in enumerate(pins):
        prev = out[-1].checkpoint if out else None
        cp = first_or_next(prev, seq=seq, hash=h, at=T0 + timedelta(minutes=i), key=key.key_id)
        out.append(Entry(cp, key.sign(cp.signed_bytes())))
    return out


def test_first_checkpoint_names_genesis_and_the_next_its_digest() -> None:
    key = _key()
    a, b = _run(key, [(3, "a" * 64), (9, "b" * 64)])
    assert (a.checkpoint.number, a.checkpoint.prev) == (1, GENESIS)
    assert (b.checkpoint.number, b.checkpoint.prev) == (2, a.checkpoint.digest)


def test_an_entry_survives_its_line_and_nothing_else_parses() -> None:
    (entry,) = _run(_key(), [(3, "a" * 64)])
    assert Entry.parse(entry.line()) == entry
    raw = json.loads(entry.line())
    for broken in (
        "not json",
        json.dumps({"checkpoint": {**raw["checkpoint"], "v": 2}, "signature": "AA=="}),
        json.dumps({"checkpoint": {**raw["checkpoint"], "seq": -1}, "signature": "AA=="}),
        json.dumps({"checkpoint": {**raw["checkpoint"], "hash": "xyz"}, "signature": "AA=="}),
        json.dumps({"checkpoint": {**raw["checkpoint"], "at": "yesterday"}, "signature": "AA=="}),
        json.dumps({"checkpoint": raw["checkpoint"], "signature": "not base64!"}),
        json.dumps({"checkpoint": raw["checkpoint"]}),
        json.dumps([1, 2]),
    ):
        with pytest.raises(BadEntry):
            Entry.parse(broken)


def test_a_valid_run_has_no_finding() -> None:
    key = _key()
    run = _run(key, [(3, "a" * 64), (9, "b" * 64), (12, "c" * 64)])
    assert check_sequence(run, key.verify) == (run, None)


def test_another_keys_checkpoint_is_a_bad_signature() -> None:
    key, other = _key(), _key()
    run = _run(key, [(3, "a" * 64)])
    forged = _run(other, [(3, "a" * 64), (9, "b" * 64)])[1]
    valid, finding = check_sequence([*run, forged], key.verify, "file:x")
    assert valid == run
    assert finding is not None
    assert (finding.code, finding.checkpoint, finding.store) == (
        "checkpoint_signature",
        2,
        "file:x",
    )


def test_an_edited_checkpoint_no_longer_verifies() -> None:
    key = _key()
    (entry,) = _run(key, [(3, "a" * 64)])
    moved = Entry(Checkpoint(**{**entry.checkpoint.__dict__, "seq": 2}), entry.signature)
    _valid, finding = check_sequence([moved], key.verify)
    assert finding is not None and finding.code == "checkpoint_signature"


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("a checkpoint left out", lambda run: [run[0], run[2]]),
        ("two swapped", lambda run: [run[1], run[0], run[2]]),
        ("one repeated", lambda run: [run[0], run[0], run[1]]),
    ],
)
def test_a_broken_sequence_is_named(name: str, change: object) -> None:
    key = _key()
    run = _run(key, [(3, "a" * 64), (9, "b" * 64), (12, "c" * 64)])
    valid, finding = check_sequence(change(run), key.verify)  # type: ignore[operator]
    assert finding is not None and finding.code == "checkpoint_sequence", name
    assert len(valid) < 3


def test_a_signed_checkpoint_that_goes_back_in_the_chain_breaks_the_sequence() -> None:
    key = _key()
    run = _run(key, [(9, "a" * 64), (5, "b" * 64)])  # the key holder signed it, but it is wrong
    valid, finding = check_sequence(run, key.verify)
    assert len(valid) == 1 and finding is not None and finding.code == "checkpoint_sequence"


def test_an_unreadable_line_breaks_the_sequence_where_it_stands() -> None:
    key = _key()
    run = _run(key, [(3, "a" * 64), (9, "b" * 64)])
    valid, finding = check_sequence([run[0], BadEntry("torn line"), run[1]], key.verify)
    assert valid == [run[0]]
    assert finding is not None and (finding.code, finding.checkpoint) == ("checkpoint_sequence", 2)


def test_compare_chain_names_truncation_and_rechaining() -> None:
    key = _key()
    cps = [e.checkpoint for e in _run(key, [(3, "a" * 64), (9, "b" * 64)])]
    chain = {3: "a" * 64, 9: "b" * 64}
    assert compare_chain(cps, 10, chain.get) is None
    cut = compare_chain(cps, 7, chain.get)
    assert cut is not None and (cut.code, cut.seq, cut.checkpoint) == ("truncated", 8, 2)
    rehashed = compare_chain(cps, 10, {3: "a" * 64, 9: "f" * 64}.get)
    assert rehashed is not None
    # Rewritten somewhere after checkpoint 1's event 3, at or before event 9.
    assert (rehashed.code, rehashed.seq, rehashed.checkpoint) == ("rechained", 4, 2)


def test_every_finding_has_a_label() -> None:
    codes = {"truncated", "rechained", "checkpoint_signature", "checkpoint_sequence"}
    codes |= {"anchor_missing", "anchor_behind", "timestamp_invalid", "event_altered"}
    assert codes <= set(FINDINGS.codes)
    assert reason("event_altered") == "event content altered"  # what the API said before
