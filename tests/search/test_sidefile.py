"""The side files' bytes are a stored format: indexes written by an earlier release must
keep opening, so the container shared by ``.sidepost`` and ``.sidepos``
(search/sidefile.py) must not change what it writes."""

from __future__ import annotations

import hashlib
from array import array
from pathlib import Path

from search.index_positions import open_positions_file, write_positions_file
from search.index_postings import open_side_file, write_side_file
from tests.search.conftest import positional_terms

# sha256 and size of each file as the modules wrote it before they shared search/sidefile.py.
POSTINGS = ("8278acd2b2634e83f3c55ba28428b3b4e1726a366c61c9a000769d5e01d6fa1f", 728)
POSITIONS = ("ea27abe8225f3672617d73640930c533c6b70b734d364d52f6e952e7ac3b5715", 1896)


def _terms() -> dict[tuple[str, bytes], tuple[array[int], array[float], list[bytes]]]:
    terms = positional_terms(
        {
            ("body", "合同".encode()): {0: [3], 5: [1, 2, 70000], 2: [1, 9]},  # out of order
            ("body", b"x"): {1: list(range(300)), 4: [7]},
            ("title", b"y"): {4: [0], 3: [2, 5]},
        }
    )
    terms[("id", b"7")] = (array("I", [6]), array("f", [1.5]), [b""])
    return terms


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size


def test_side_files_keep_their_bytes(tmp_path: Path) -> None:
    terms = _terms()
    assert _fingerprint(write_side_file(tmp_path, "seg_g", 7, terms)) == POSTINGS
    assert _fingerprint(write_positions_file(tmp_path, "seg_g", 7, terms)) == POSITIONS
    postings = open_side_file(tmp_path, "seg_g", 7)
    positions = open_positions_file(tmp_path, "seg_g", 7)
    assert postings is not None and positions is not None
    docs, weights = postings.get("body", "合同".encode())  # type: ignore[misc]
    assert docs.tolist() == [0, 2, 5] and weights.tolist() == [1, 2, 3]
    counts, flat = positions.get("body", "合同".encode())  # type: ignore[misc]
    assert counts.tolist() == [1, 2, 3] and flat.tolist() == [3, 1, 9, 1, 2, 70000]
    assert positions.get("id", b"7") is None and postings.get("id", b"8") is None


def test_a_cut_short_or_foreign_file_is_not_used(tmp_path: Path) -> None:
    terms = _terms()
    side = write_side_file(tmp_path, "seg_g", 7, terms)
    pos = write_positions_file(tmp_path, "seg_g", 7, terms)
    pos.write_bytes(side.read_bytes())  # a postings file under the positions name
    assert open_positions_file(tmp_path, "seg_g", 7) is None
    side.write_bytes(side.read_bytes()[:-1])
    assert open_side_file(tmp_path, "seg_g", 7) is None
