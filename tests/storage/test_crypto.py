"""The segmented AES-GCM format: round trips, every kind of tampering, ranges."""

from __future__ import annotations

import hashlib
import io
import random

import pytest

from storage.crypto import (
    DEFAULT_SEGMENT_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    EncryptingReader,
    ciphertext_size,
    decrypt_bytes,
    decrypt_stream,
    encrypt_bytes,
    iter_range,
    read_range,
)
from storage.errors import IntegrityError
from storage.keyring import new_data_key
from tests.storage.conftest import SEG, Source, pattern

DEK = new_data_key()
OID = "0f" * 16
BLOCK = SEG + TAG_SIZE


def enc(data: bytes, dek: bytes = DEK, oid: str = OID, seg: int = SEG) -> bytes:
    return encrypt_bytes(data, dek, oid, seg)


def seg_offset(i: int) -> int:
    return HEADER_SIZE + i * BLOCK


# -- round trips ------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 7, 3 << 20])
def test_round_trip_sizes(size: int) -> None:
    data = pattern(size)
    blob = enc(data)
    assert len(blob) == ciphertext_size(size, SEG)
    assert decrypt_bytes(blob, DEK, OID) == data


def test_empty_plaintext_is_one_final_segment() -> None:
    blob = enc(b"")
    assert len(blob) == HEADER_SIZE + TAG_SIZE
    assert list(decrypt_stream(io.BytesIO(blob), DEK, OID)) == []


def test_default_segment_size_streamed_file() -> None:
    size = 24 * DEFAULT_SEGMENT_SIZE + 12345
    reader = EncryptingReader(Source(size), DEK, OID)
    digest, total = hashlib.sha256(), 0
    for chunk in decrypt_stream(iter(lambda: reader.read(3 << 20), b""), DEK, OID):
        assert len(chunk) <= DEFAULT_SEGMENT_SIZE  # verified and released a segment at a time
        digest.update(chunk)
        total += len(chunk)
    assert total == size == reader.plaintext_size
    assert digest.hexdigest() == reader.sha256 == hashlib.sha256(pattern(size)).hexdigest()
    assert reader.ciphertext_size == ciphertext_size(size)


def test_reader_returns_exactly_n_until_eof_and_reports_digest() -> None:
    size = 10 * SEG + 3
    reader = EncryptingReader(Source(size, chunk=7), DEK, OID, SEG)  # short source reads
    with pytest.raises(RuntimeError):
        _ = reader.sha256
    rng = random.Random(1)  # noqa: S311 - varied read sizes, not secrets
    out = bytearray()
    total = ciphertext_size(size, SEG)
    while True:
        n = rng.choice([1, 5, SEG, BLOCK, 1000, 4096])
        chunk = reader.read(n)
        assert len(chunk) == min(n, total - len(out))
        if not chunk:
            break
        out += chunk
    assert reader.read(10) == b""
    assert reader.sha256 == hashlib.sha256(pattern(size)).hexdigest()
    assert (reader.plaintext_size, reader.ciphertext_size) == (size, total)
    assert decrypt_bytes(bytes(out), DEK, OID) == pattern(size)


@pytest.mark.parametrize("chunk", [1, 7, BLOCK, 10_000])
def test_decrypt_accepts_chunks_of_any_size(chunk: int) -> None:
    data = pattern(5 * SEG + 11)
    blob = enc(data)
    chunks = [blob[i : i + chunk] for i in range(0, len(blob), chunk)]
    assert b"".join(decrypt_stream(chunks, DEK, OID)) == data


def test_same_plaintext_encrypts_differently() -> None:
    assert enc(b"x" * 100) != enc(b"x" * 100)  # random nonce prefix per object


# -- tampering -----------------------------------------------------------------------

DATA = pattern(4 * SEG + 100)  # 5 segments, the last one short
BLOB = enc(DATA)


def flip(blob: bytes, pos: int, bit: int = 0) -> bytes:
    b = bytearray(blob)
    b[pos] ^= 1 << bit
    return bytes(b)


def assert_rejected(blob: bytes, dek: bytes = DEK, oid: str = OID) -> list[bytes]:
    """Decrypt until the failure; return what was released before it."""
    released: list[bytes] = []
    with pytest.raises(IntegrityError):
        for chunk in decrypt_stream(io.BytesIO(blob), dek, oid):
            released.append(chunk)
    return released


@pytest.mark.parametrize("pos", range(HEADER_SIZE))
def test_any_header_bit_flip_is_detected(pos: int) -> None:
    assert assert_rejected(flip(BLOB, pos, pos % 8)) == []


@pytest.mark.parametrize(
    "where",
    [
        seg_offset(0),  # first ciphertext byte
        seg_offset(2) + 17,  # middle segment
        seg_offset(1) + SEG,  # a tag byte
        seg_offset(1) - 1,  # last tag byte of segment 0
        len(BLOB) - 1,  # final tag
        seg_offset(4) + 3,  # short final segment
    ],
)
def test_ciphertext_or_tag_bit_flip_is_detected(where: int) -> None:
    released = assert_rejected(flip(BLOB, where, 3))
    # Only segments before the damaged one were released, and they are genuine.
    bad = (where - HEADER_SIZE) // BLOCK
    assert b"".join(released) == DATA[: bad * SEG]


@pytest.mark.parametrize(
    "cut",
    [
        len(BLOB) - 1,  # last byte
        seg_offset(4),  # drop the final segment entirely
        seg_offset(3),  # drop the last two
        seg_offset(2) + 100,  # mid-segment
        seg_offset(1) + 5,  # fewer bytes than a tag left
        HEADER_SIZE,  # header only
        HEADER_SIZE - 1,  # not even a header
        0,
    ],
)
def test_truncation_is_detected(cut: int) -> None:
    released = assert_rejected(BLOB[:cut])
    assert DATA.startswith(b"".join(released))


def test_full_segment_final_truncation_is_detected() -> None:
    data = pattern(4 * SEG)  # all segments full: the final one has no short length to tell
    blob = enc(data)
    assert_rejected(blob[: seg_offset(3)])


def test_appended_data_is_detected() -> None:
    assert_rejected(BLOB + BLOB[seg_offset(1) : seg_offset(2)])
    assert_rejected(BLOB + b"\0")


def test_reordered_segments_are_detected() -> None:
    s = [BLOB[seg_offset(i) : seg_offset(i + 1)] for i in range(4)]
    swapped = BLOB[:HEADER_SIZE] + s[1] + s[0] + s[2] + s[3] + BLOB[seg_offset(4) :]
    assert assert_rejected(swapped) == []


def test_segment_from_another_object_is_detected() -> None:
    other = enc(DATA)  # same key and identity, different nonce prefix
    spliced = BLOB[: seg_offset(2)] + other[seg_offset(2) : seg_offset(3)] + BLOB[seg_offset(3) :]
    assert b"".join(assert_rejected(spliced)) == DATA[: 2 * SEG]


def test_swapped_objects_same_key_are_detected() -> None:
    # Both objects under one data key: the identity in the AD tells them apart.
    a, b = enc(DATA, oid="aa" * 16), enc(DATA, oid="bb" * 16)
    assert decrypt_bytes(a, DEK, "aa" * 16) == DATA
    assert_rejected(a, oid="bb" * 16)
    assert_rejected(b, oid="aa" * 16)


def test_swapped_objects_different_keys_are_detected() -> None:
    dek_b = new_data_key()
    a, b = enc(DATA, DEK, "aa" * 16), enc(DATA, dek_b, "bb" * 16)
    assert_rejected(b, DEK, "aa" * 16)  # object b read through a's row
    assert_rejected(a, dek_b, "bb" * 16)


def test_wrong_data_key_is_detected() -> None:
    assert_rejected(BLOB, new_data_key())


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        enc(b"x", seg=10)
    with pytest.raises(ValueError):
        enc(b"x", dek=b"short")


# -- byte ranges --------------------------------------------------------------------


def fetcher(blob: bytes, calls: list[tuple[int, int]] | None = None):  # type: ignore[no-untyped-def]
    def fetch(offset: int, length: int) -> bytes:
        if calls is not None:
            calls.append((offset, length))
        return blob[offset : offset + length]

    return fetch


@pytest.mark.parametrize(
    ("start", "length"),
    [
        (0, 1),
        (0, SEG),
        (0, SEG + 1),
        (SEG - 1, 1),
        (SEG - 1, 2),
        (SEG, SEG),
        (SEG + 1, 3 * SEG),
        (4 * SEG - 1, 2),
        (4 * SEG, 100),
        (4 * SEG + 99, 1),
        (0, len(DATA)),
        (10, 10**9),
        (len(DATA) - 1, 5),
        (len(DATA), 5),
        (500, 0),
        (10**9, 10),
    ],
)
def test_range_at_segment_boundaries(start: int, length: int) -> None:
    got = read_range(fetcher(BLOB), DEK, OID, len(DATA), start, length)
    assert got == DATA[start : start + length]


def test_range_fetches_only_covering_segments() -> None:
    calls: list[tuple[int, int]] = []
    assert (
        read_range(fetcher(BLOB, calls), DEK, OID, len(DATA), SEG + 10, SEG)
        == DATA[SEG + 10 : 2 * SEG + 10]
    )
    assert calls == [(0, HEADER_SIZE), (seg_offset(1), 2 * BLOCK)]


def test_range_in_small_batches() -> None:
    calls: list[tuple[int, int]] = []
    chunks = list(iter_range(fetcher(BLOB, calls), DEK, OID, len(DATA), 1, len(DATA), BLOCK))
    assert b"".join(chunks) == DATA[1:]
    assert len(calls) == 1 + 5  # header, then one segment per fetch


def test_range_over_tampered_or_truncated_object_fails() -> None:
    with pytest.raises(IntegrityError):
        read_range(fetcher(flip(BLOB, seg_offset(1) + 5)), DEK, OID, len(DATA), SEG, 10)
    with pytest.raises(IntegrityError):  # final segment missing
        read_range(fetcher(BLOB[: seg_offset(4)]), DEK, OID, len(DATA), 4 * SEG, 10)
    with pytest.raises(IntegrityError):  # recorded size larger than the object
        read_range(fetcher(BLOB), DEK, OID, len(DATA) + SEG, 4 * SEG, 10)
    with pytest.raises(IntegrityError):  # recorded size smaller: a non-final segment read as final
        read_range(fetcher(BLOB), DEK, OID, 3 * SEG + 5, 3 * SEG, 10)
    with pytest.raises(IntegrityError):
        read_range(fetcher(BLOB), DEK, "cc" * 16, len(DATA), 0, 10)
