"""Phrases on the positions side files (.sidepos): same answers as Whoosh's positions, in
every shape an index takes (several segments, deletions, merges, older segments without
the files, replicas), with the access filter, mixed scripts and repeated tokens."""

# ruff: noqa: S311 - seeded pseudo-random corpora, for reproducibility, not security
from __future__ import annotations

import random
from pathlib import Path

import pytest

from search import AccessFilter, SearchIndex, SearchQuery
from search.analysis import index_terms
from search.index_positions import SUFFIX, open_positions_file
from search.publish import PublishedIndex
from search.whoosh_internals import decode_positions, generation_files, posting_blocks
from tests.search.conftest import KEY, Replicated, make_doc, positional_terms

EVERYONE = AccessFilter(everything=True)


def found(index: SearchIndex | Replicated, text: str, access: AccessFilter = EVERYONE) -> list:
    page = index.search(SearchQuery(text=text, access=access, per_page=1000))
    assert page.total == len(page.hits)
    return [(h.id, h.score) for h in page.hits]


def ids(index: SearchIndex | Replicated, text: str, access: AccessFilter = EVERYONE) -> list:
    return sorted(i for i, _score in found(index, text, access))


def position_files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name.endswith(SUFFIX)}


def live_segments(index: SearchIndex) -> set[str]:
    return {leaf.segment_id for leaf in index._snapshot().leaves if leaf.segment_id}


def old_path(index: SearchIndex) -> SearchIndex:
    """The same folder read without the positions files (phrases on Whoosh's positions)."""
    return SearchIndex(index.directory, key=KEY, side_positions=False)


BODIES = {
    1: "本合同由甲方与乙方签订，付款方式为银行转账。",
    2: "甲方与乙方另行约定，乙方与甲方互不担保。",
    3: "合同编号HT-2023-001，金额人民币100元。",
    4: "签订合同合同合同，重复的词。",
    5: "甲方与乙方",
    6: "The payment terms are net 30 days; 30 net is not the phrase.",
}


@pytest.fixture
def several(index: SearchIndex) -> SearchIndex:
    """Segments of two documents (a rebuild), then one more written by an update."""
    docs = [make_doc(i, body=body, customer_id=i) for i, body in BODIES.items()]
    index.rebuild(docs[:-1], workers=0, segment_docs=2)
    index.update(docs[-1:])
    return index


def test_phrases_across_segments_use_the_positions_files(several: SearchIndex) -> None:
    snap = several._snapshot()
    assert len(snap.leaves) > 1
    assert all(leaf.positions is not None for leaf in snap.leaves)
    assert position_files(several.directory) == {f"{s}{SUFFIX}" for s in live_segments(several)}
    assert ids(several, '"甲方与乙方"') == [1, 2, 5]
    assert ids(several, '"乙方与甲方"') == [2]
    assert ids(several, '"net 30 days"') == [6]
    assert ids(several, '"30 net"') == [6]
    assert ids(several, '"days net"') == []
    assert found(several, '"甲方与乙方"') == found(old_path(several), '"甲方与乙方"')


def test_mixed_chinese_and_latin_words(several: SearchIndex) -> None:
    assert ids(several, "编号HT-2023-001") == [3]
    assert ids(several, "合同编号HT-2023-001") == [3]
    assert ids(several, "编号HT-2023-002") == []
    assert ids(several, '"人民币100元"') == [3]
    assert ids(several, "100元") == [3]
    assert ids(several, "HT-2023-001合同") == []  # the order matters
    for text in ("编号HT-2023-001", "100元", '"人民币100元"'):
        assert found(several, text) == found(old_path(several), text)


def test_repeated_tokens_in_a_phrase(several: SearchIndex) -> None:
    # 合同合同 → 合同 同合 合同: the same term at two offsets of the phrase.
    assert ids(several, '"合同合同"') == [4]
    assert ids(several, '"合同合同合同"') == [4]
    assert ids(several, '"合同合同合同合同"') == []
    # 合同合同合同 holds 合同合同 twice (from 0 and from 2): counted as Whoosh counts it.
    assert found(several, '"合同合同"') == found(old_path(several), '"合同合同"')


def test_phrase_at_the_start_and_the_end_of_a_document(index: SearchIndex) -> None:
    index.update(
        [
            make_doc(1, body="甲方与乙方签订本合同", title="x"),
            make_doc(2, body="本合同由甲方与乙方", title="x"),
            make_doc(3, body="甲方与乙方", title="x"),
            make_doc(4, body="与乙方签订", title="x"),
        ]
    )
    assert ids(index, '"甲方与乙方"') == [1, 2, 3]
    assert ids(index, '"签订本合同"') == [1]
    assert ids(index, '"与乙方签订"') == [1, 4]
    for text in ('"甲方与乙方"', '"签订本合同"', '"与乙方签订"'):
        assert found(index, text) == found(old_path(index), text)


def test_deleted_and_replaced_documents_are_not_found(several: SearchIndex) -> None:
    several.remove([5])
    several.update([make_doc(1, body="本协议已终止。", customer_id=1)])  # replaces doc 1
    assert ids(several, '"甲方与乙方"') == [2]
    assert ids(several, '"协议已终止"') == [1]
    assert found(several, '"甲方与乙方"') == found(old_path(several), '"甲方与乙方"')


def test_merged_segments_get_positions_files_and_lose_the_old_ones(index: SearchIndex) -> None:
    for i in range(1, 16):  # small commits: Whoosh merges them as they accumulate
        index.update([make_doc(i, body=f"第{i}号合同，甲方与乙方签订")])
    index.remove([3])
    assert all(leaf.positions is not None for leaf in index._snapshot().leaves)
    assert position_files(index.directory) == {f"{s}{SUFFIX}" for s in live_segments(index)}
    assert ids(index, '"甲方与乙方签订"') == [i for i in range(1, 16) if i != 3]
    assert ids(index, '"第3号合同"') == []
    assert ids(index, '"第12号合同"') == [12]


def test_rebuild_workers_write_positions_files_and_the_old_generation_loses_them(
    index: SearchIndex,
) -> None:
    index.update([make_doc(1, body="旧的甲方与乙方")])
    first = position_files(index.directory)
    docs = [make_doc(i, body=f"第{i}号文件，甲方与乙方签订") for i in range(1, 301)]
    index.rebuild(docs, workers=2, segment_docs=100)
    index.rebuild(docs, workers=0, segment_docs=100)  # the first generation is deleted now
    snap = index._snapshot()
    assert len(snap.leaves) == 3 and all(leaf.positions is not None for leaf in snap.leaves)
    assert not first & position_files(index.directory)
    assert ids(index, '"第42号文件"') == [42]
    assert len(ids(index, '"甲方与乙方签订"')) == 300


def test_older_segments_without_positions_files_fall_back(several: SearchIndex) -> None:
    expected = {t: found(several, t) for t in ('"甲方与乙方"', '"合同合同"', "编号HT-2023-001")}
    # Half the segments lose their positions file (an index written before them).
    names = sorted(position_files(several.directory))
    for name in names[::2]:
        (several.directory / name).unlink()
    fresh = SearchIndex(several.directory, key=KEY)
    kinds = [leaf.positions is None for leaf in fresh._snapshot().leaves]
    assert any(kinds) and not all(kinds)
    assert {t: found(fresh, t) for t in expected} == expected
    # An index written without them (side_positions=False), then a segment with them.
    for name in position_files(several.directory):
        (several.directory / name).unlink()
    fresh = SearchIndex(several.directory, key=KEY)
    assert all(leaf.positions is None for leaf in fresh._snapshot().leaves)
    assert {t: found(fresh, t) for t in expected} == expected
    fresh.update([make_doc(7, body="甲方与乙方再次签订", customer_id=7)])
    assert len(position_files(several.directory)) >= 1
    assert ids(fresh, '"甲方与乙方"') == [1, 2, 5, 7]


def test_side_positions_false_writes_none(tmp_path: Path) -> None:
    off = SearchIndex(tmp_path / "off", key=KEY, side_positions=False)
    off.update([make_doc(1, body="甲方与乙方")])
    off.rebuild([make_doc(1, body="甲方与乙方"), make_doc(2, body="乙方")], workers=0)
    assert not position_files(off.directory)
    assert all(leaf.positions is None for leaf in off._snapshot().leaves)
    assert ids(off, '"甲方与乙方"') == [1]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other segment"])
def test_a_damaged_positions_file_is_ignored(several: SearchIndex, damage: str) -> None:
    expected = found(several, '"甲方与乙方"')
    first, second = (several.directory / n for n in sorted(position_files(several.directory))[:2])
    if damage == "truncate":
        first.write_bytes(first.read_bytes()[:-100])
    elif damage == "garbage":
        first.write_bytes(b"\0" * 1000)
    else:
        first.write_bytes(second.read_bytes())
    fresh = SearchIndex(several.directory, key=KEY)
    assert [leaf.positions for leaf in fresh._snapshot().leaves].count(None) == 1
    assert found(fresh, '"甲方与乙方"') == expected


def test_the_access_filter_applies_to_phrases(several: SearchIndex) -> None:
    clerk = AccessFilter(customers=frozenset({2, 3}), documents=frozenset({5}))
    assert ids(several, '"甲方与乙方"', clerk) == [2, 5]
    assert ids(several, "编号HT-2023-001", clerk) == [3]
    nobody_else = AccessFilter(customers=frozenset({6}))
    assert ids(several, '"甲方与乙方"', nobody_else) == []
    page = several.search(SearchQuery(text='"甲方与乙方"', access=nobody_else))
    assert page.total == 0


def test_positions_files_hold_whoosh_positions(several: SearchIndex) -> None:
    checked = 0
    for leaf in several._snapshot().leaves:
        assert leaf.positions is not None and leaf.side is not None
        for (field, term), _info in leaf.reader:
            if field not in ("title", "body", "customer_name", "tags"):
                continue
            expected = []
            for _ids, _weights, values in posting_blocks(leaf.reader, field, term, values=True):
                expected += [sorted(decode_positions(v)) for v in values()]
            got = leaf.positions.get(field, term)
            assert got is not None
            counts, flat = got
            assert counts.tolist() == [len(p) for p in expected]
            assert flat.tolist() == [p for plist in expected for p in plist]
            checked += 1
    assert checked > 50


def test_positions_files_hold_no_text(several: SearchIndex) -> None:
    raw = b"".join((several.directory / n).read_bytes() for n in position_files(several.directory))
    assert raw
    # Every Chinese term (bigrams, edge characters); ASCII words of two or three letters
    # could occur by chance inside the keyed terms' base64.
    pieces = [t for body in BODIES.values() for t in index_terms(body) if not t.isascii()]
    assert pieces
    for term in pieces:
        assert term.encode() not in raw, term


def test_positions_files_are_published_and_replicas_use_them(tmp_path: Path) -> None:
    both = Replicated(tmp_path)
    for doc_id, body in BODIES.items():
        both.update([make_doc(doc_id, body=body, customer_id=doc_id)])
    assert isinstance(both.primary, PublishedIndex)
    name = both.primary.index._current_name()
    published = generation_files(both.primary.index.directory, name)
    assert {n for n in published if n.endswith(SUFFIX)} == position_files(
        both.primary.index.directory
    )
    assert ids(both, '"甲方与乙方"') == [1, 2, 5]
    replica = both.replica._index()
    assert position_files(replica.directory) >= position_files(both.primary.index.directory)
    assert all(leaf.positions is not None for leaf in replica._snapshot().leaves)
    both.remove([2])
    assert ids(both, '"甲方与乙方"') == [1, 5]
    assert found(both, '"合同合同"') == found(both.primary.index, '"合同合同"')


# --------------------------------------------------------------------------- a random corpus

_VOCAB = [
    "合同",
    "甲方",
    "乙方",
    "付款",
    "银行",
    "转账",
    "签订",
    "编号",
    "协议",
    "合",
    "同",
    "HT",
    "2023",
    "001",
    "net",
    "年",
    "，",
    " ",
]


def _text(rng: random.Random, words: int) -> str:
    return "".join(rng.choice(_VOCAB) for _ in range(words))


def test_same_results_with_and_without_positions_files_on_a_random_corpus(
    tmp_path: Path,
) -> None:
    rng = random.Random(5)
    docs = [
        make_doc(
            i,
            body=_text(rng, rng.randint(1, 60)),
            title=_text(rng, rng.randint(0, 4)),
            customer_id=rng.randint(1, 5),
        )
        for i in range(1, 401)
    ]
    index = SearchIndex(tmp_path / "on", key=KEY)
    index.rebuild(docs[:250], workers=0, segment_docs=80)
    for chunk in range(250, 400, 30):  # more segments, and some merges
        index.update(docs[chunk : chunk + 30])
    index.remove(rng.sample(range(1, 401), 40))
    index.update([make_doc(i, body=_text(rng, 20)) for i in rng.sample(range(1, 401), 20)])
    assert all(leaf.positions is not None for leaf in index._snapshot().leaves)
    without = old_path(index)
    assert all(leaf.positions is None for leaf in without._snapshot().leaves)
    clerk = AccessFilter(customers=frozenset({1, 3}), documents=frozenset({7, 8, 9}))
    queries = []
    for _ in range(150):
        source = rng.choice(docs).body
        start = rng.randrange(max(1, len(source) - 2))
        piece = source[start : start + rng.randint(2, 12)]
        queries.append(f'"{piece}"')
    queries += [f'"{_text(rng, rng.randint(2, 4))}"' for _ in range(50)]
    queries += ["编号HT-2023-001", "合同HT", "2023年", '"合同合同"', '"合同合同合同"']
    nonempty = 0
    for text in queries:
        if not text.strip('" ，'):
            continue
        for access in (EVERYONE, clerk):
            try:
                expected = found(without, text, access)
            except Exception as exc:  # noqa: BLE001 - the same error on both paths
                with pytest.raises(type(exc)):
                    found(index, text, access)
                continue
            assert found(index, text, access) == expected, text
            nonempty += bool(expected)
    assert nonempty > 100


def test_positions_file_of_a_segment_without_positional_terms(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "ix", key=KEY)
    index.update([make_doc(1, title="", customer_name="", body="")])
    leaf = index._snapshot().leaves[0]
    assert leaf.segment_id is not None
    assert open_positions_file(index.directory, leaf.segment_id, leaf.count) is not None
    assert ids(index, '"甲方与乙方"') == []


@pytest.mark.parametrize("slice_postings", [1, 3, 1 << 20])
def test_positions_file_round_trip(tmp_path: Path, slice_postings: int) -> None:
    """Counts past 8 and 16 bits, positions past 16 bits, documents given out of order
    (sorted as the .sidepost file sorts them), exact fields left out."""
    from array import array

    from search.index_positions import SidePositions, write_positions_file

    many = list(range(0, 140_000, 2))  # 70,000 positions in one document, past 2**16
    per_doc = {
        ("body", b"aa"): {0: [3], 5: many, 2: [1, 9]},  # documents out of order
        ("body", b"bb"): {1: list(range(300))},
        ("title", b"aa"): {4: [0]},
    }
    terms = positional_terms(per_doc)
    terms[("numbers", b"K1")] = (array("I", [0, 1]), array("f", [1, 1]), [b"", b""])
    path = write_positions_file(tmp_path, "seg_x", 6, terms, slice_postings=slice_postings)
    side = SidePositions(path, "seg_x", 6)
    assert side.terms == 3
    for (field, term), docs in per_doc.items():
        got = side.get(field, term)
        assert got is not None
        counts, flat = got
        ordered = [docs[d] for d in sorted(docs)]
        assert counts.tolist() == [len(p) for p in ordered]
        assert flat.tolist() == [p for plist in ordered for p in plist]
    assert side.get("numbers", b"K1") is None
    assert side.get("body", b"cc") is None
    with pytest.raises(ValueError, match="written for"):
        SidePositions(path, "seg_y", 6)


def test_a_positions_file_that_disagrees_with_the_postings_file_is_not_used(
    several: SearchIndex,
) -> None:
    """A positions file whose term lists another number of postings than the segment's
    .sidepost file (not what any writer makes): that segment is checked on Whoosh's."""
    from array import array

    from search.index_positions import write_positions_file
    from search.whoosh_internals import encode_postings

    expected = found(several, '"甲方与乙方"')
    leaf = next(leaf for leaf in several._snapshot().leaves if leaf.count >= 2)
    assert leaf.segment_id is not None
    term = several.key.term("body", "甲方").encode()
    value = encode_postings({"x": [0]})[0][3]
    fake = {("body", term): (array("I", [0]), array("f", [1.0]), [value])}
    assert leaf.side is not None and len(leaf.side.get("body", term)[0]) == 2  # type: ignore[index]
    write_positions_file(several.directory, leaf.segment_id, leaf.count, fake)
    fresh = SearchIndex(several.directory, key=KEY)
    assert found(fresh, '"甲方与乙方"') == expected
