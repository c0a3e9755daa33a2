"""The index: finding, exact numbers, folding, phrases, access filters, filters, paging, writes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from search import AccessFilter, QueryError, SearchIndex, SearchQuery, highlight
from tests.search.conftest import KEY, make_doc

EVERYONE = AccessFilter(everything=True)


def ids(index: SearchIndex, text: str, access: AccessFilter = EVERYONE, **kw: object) -> list[int]:
    page = index.search(SearchQuery(text=text, access=access, per_page=100, **kw))  # type: ignore[arg-type]
    assert page.total == len(page.hits)
    return [h.id for h in page.hits]


@pytest.fixture
def corpus(index: SearchIndex) -> SearchIndex:
    index.update(
        [
            make_doc(
                1,
                title="采购合同",
                body="本合同由甲方与乙方签订，付款方式为银行转账。",
                numbers=("K001202301", "Q001-K·2023-D30-0001"),
                identifiers=("HT-2023-001",),
                customer_code="91310000MA1FL8XQ30",
            ),
            make_doc(
                2,
                title="投诉处理",
                body="客户投诉产品质量问题，已安排售后维修。",
                identifiers=("HT-2023-0011",),
                customer_id=2,
                category="service.complaint",
                department="OPS",
                document_date=date(2022, 5, 1),
            ),
            make_doc(
                3,
                title="客戶檔案",
                body="客戶檔案管理規定，聯合同意書另附。",
                customer_id=3,
                category="business.order",
                document_date=date(2024, 2, 1),
            ),
            make_doc(
                4,
                title="Annual report",
                body="Payment terms net 30 days. 发票已开具。",
                customer_id=4,
                department="FIN",
                tags=("重要客户",),
                document_date=None,
            ),
            make_doc(
                5,
                title="付款通知",
                body="请于2023年度内完成付款，合同另行签订。",
                customer_id=5,
                category="finance.payment",
                status="submitted",
                document_date=date(2023, 6, 30),
            ),
        ]
    )
    return index


def test_chinese_words_in_body_are_found(corpus: SearchIndex) -> None:
    assert ids(corpus, "售后") == [2]
    assert sorted(ids(corpus, "付款")) == [1, 5]
    assert sorted(ids(corpus, "合同")) == [1, 3, 5]  # 3: "联合同意" holds 合同 as characters
    assert ids(corpus, "质量问题") == [2]
    assert ids(corpus, "不存在的词") == []


def test_two_words_must_both_match(corpus: SearchIndex) -> None:
    assert ids(corpus, "付款 银行") == [1]
    assert sorted(ids(corpus, "付款 OR 售后")) == [1, 2, 5]
    assert ids(corpus, "付款 -银行") == [5]


def test_and_not_or_with_chinese_terms(index: SearchIndex) -> None:
    """quality.md: (A AND NOT B) OR C with CJK terms, on every backend change.

    The box has no parentheses (they are read as punctuation) and an exclusion applies
    to the whole box, so it reads ``(采购 AND NOT 银行) OR 售后`` as
    (采购 OR 售后) AND NOT 银行; the exact boolean needs two searches.
    """
    index.update(
        [
            make_doc(1, body="采购合同，付款方式为银行转账。"),  # A and B
            make_doc(2, body="采购订单已确认。"),  # A
            make_doc(3, body="售后维修记录。"),  # C
            make_doc(4, body="售后退款经银行办理。"),  # C and B
            make_doc(5, body="发票已开具。"),  # none
            make_doc(6, title="採購申請"),  # A, in traditional characters, in the title
            make_doc(7, body="银行对账单。"),  # B
        ]
    )
    for text in ("(采购 AND NOT 银行) OR 售后", "采购 NOT 银行 OR 售后", "采购 -银行 OR 售后"):
        assert sorted(ids(index, text)) == [2, 3, 6], text
    exact = set(ids(index, "采购 -银行")) | set(ids(index, "售后"))
    assert exact == {2, 3, 4, 6}
    assert sorted(ids(index, "采购 OR 售后")) == [1, 2, 3, 4, 6]
    assert sorted(ids(index, "-银行 采购")) == [2, 6]


def test_a_secret_holding_the_excluded_word_never_leaks(index: SearchIndex) -> None:
    """paperless-ngx PR #14156: ``(A AND NOT B) OR C`` returned a secret holding B and C.
    Here an exclusion applies to the whole box, whatever the order, the OR, quotes or
    the secret's own archive number typed as C."""
    index.update(
        [
            make_doc(1, body="采购合同已签订。"),  # A
            make_doc(2, body="售后维修记录。"),  # C
            make_doc(3, title="机密", body="采购合同，银行转账，售后维修。"),  # A, B and C
            make_doc(4, body="售后退款经银行转账办理。", customer_id=2),  # C and B
            make_doc(5, body="银行转账凭证。"),  # B
        ]
    )
    secret_number = "K0012023010003"  # make_doc's archive number of document 3
    clerk = AccessFilter(customers=frozenset({1, 2}))
    queries = [
        "(采购 AND NOT 银行) OR 售后",
        "采购 -银行 OR 售后",
        "采购 NOT 银行 OR 售后",
        "售后 OR 采购 -银行",
        "NOT 银行 采购 OR 售后",
        '"采购合同" -"银行转账" OR "售后维修"',
        f"售后 -银行 OR {secret_number}",
    ]
    for access in (EVERYONE, clerk):
        for text in queries:
            page = index.search(SearchQuery(text=text, access=access, per_page=100))
            found = {h.id for h in page.hits}
            assert not found & {3, 4, 5}, text
            assert page.total == len(found), text
        assert ids(index, "采购 -银行 OR 售后", access) == [1, 2]
    # Without the exclusion, the secret is found: the test can fail.
    assert sorted(ids(index, "采购 OR 售后")) == [1, 2, 3, 4]
    assert ids(index, secret_number) == [3]


def test_title_matches_rank_first(corpus: SearchIndex) -> None:
    assert ids(corpus, "付款")[0] == 5


def test_english_is_case_insensitive(corpus: SearchIndex) -> None:
    assert ids(corpus, "PAYMENT") == [4]
    assert ids(corpus, "annual") == [4]


def test_numbers_and_identifiers_match_exactly(corpus: SearchIndex) -> None:
    assert ids(corpus, "HT-2023-001") == [1]
    assert ids(corpus, "ht-2023-0011") == [2]
    assert ids(corpus, "K001202301") == [1]
    assert ids(corpus, "K00120230") == []
    assert ids(corpus, "Q001-K·2023-D30-0001") == [1]
    assert ids(corpus, "q001-k・2023-d30-0001") == [1]
    assert ids(corpus, "91310000MA1FL8XQ30") == [1]
    assert ids(corpus, "91310000MA1FL8XQ3") == []


def test_traditional_and_simplified_find_each_other(corpus: SearchIndex) -> None:
    assert ids(corpus, "客户档案") == [3]
    assert ids(corpus, "客戶檔案") == [3]
    assert ids(corpus, "管理规定") == [3]
    assert ids(corpus, "質量問題") == [2]


def test_phrases(corpus: SearchIndex) -> None:
    assert ids(corpus, '"甲方与乙方"') == [1]
    assert ids(corpus, '"乙方与甲方"') == []
    assert ids(corpus, '"net 30 days"') == [4]
    assert ids(corpus, '"30 net"') == []
    assert ids(corpus, '"2023年度"') == [5]


def test_tags_and_customer_name(corpus: SearchIndex) -> None:
    assert ids(corpus, "重要客户") == [4]
    assert len(ids(corpus, "华信科技")) == 5


def test_single_character(corpus: SearchIndex) -> None:
    # 票 ends a run (发票已开具 → 发票 票已 …): found through the edge unigram or a bigram.
    assert ids(corpus, "票") == [4]
    assert 2 in ids(corpus, "修")


NOTHING = "Nothing to search for"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"', NOTHING),
        ('"采购', [1]),  # a phrase to the end
        ("AND", NOTHING),
        ("OR", NOTHING),
        ("OR (", NOTHING),
        ("*", [1, 2, 3, 4, 5]),
        (":", NOTHING),
        ("title:", []),  # the word "title", in no document
        ("((", NOTHING),
        ("-", NOTHING),
        ("NOT", NOTHING),
        ("合同 AND", [1, 3, 5]),  # AND is implied: the operator alone adds nothing
        ("AND OR NOT", NOTHING),
        ("\\", NOTHING),
        ("a:b:c", []),
        ("合同)", [1, 3, 5]),
        ("[合同", [1, 3, 5]),
        ("~", NOTHING),
        ("^2", []),  # the number 2, in no document on its own
        ("'", NOTHING),
        ("\x00", NOTHING),
        ("合同" * 600, "too long"),
    ],
)
def test_malformed_queries_are_read_forgivingly_or_refused_with_query_error(
    corpus: SearchIndex, text: str, expected: list[int] | str
) -> None:
    if isinstance(expected, str):
        with pytest.raises(QueryError, match=expected):
            corpus.search(SearchQuery(text=text, access=EVERYONE))
    else:
        assert sorted(ids(corpus, text)) == expected


def test_unbalanced_quote_is_a_phrase_to_the_end(corpus: SearchIndex) -> None:
    assert ids(corpus, '"甲方与乙方') == [1]


def test_star_lists_everything_and_punctuation_alone_is_an_error(corpus: SearchIndex) -> None:
    assert len(ids(corpus, "*")) == 5
    with pytest.raises(QueryError):
        corpus.search(SearchQuery(text="，。！", access=EVERYONE))


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    ("access", "expected"),
    [
        (AccessFilter(), []),
        (AccessFilter(everything=True), [1, 2, 3, 4, 5]),
        (AccessFilter(departments=frozenset({"OPS"})), [2]),
        (AccessFilter(customers=frozenset({3, 5})), [3, 5]),
        (AccessFilter(customer_categories=frozenset({(1, "business.contract")})), [1]),
        (AccessFilter(customer_categories=frozenset({(3, "business")})), [3]),
        (AccessFilter(customer_categories=frozenset({(1, "service.complaint")})), []),
        (AccessFilter(documents=frozenset({4})), [4]),
        (AccessFilter(departments=frozenset({"FIN"}), documents=frozenset({2})), [2, 4]),
    ],
)
def test_access_filter_limits_hits_and_totals(
    corpus: SearchIndex, access: AccessFilter, expected: list[int]
) -> None:
    for text in ("", "*", "华信", "上海"):
        page = corpus.search(SearchQuery(text=text, access=access, per_page=2))
        assert page.total == len(expected)
        assert {h.id for h in page.hits} <= set(expected)
    assert sorted(ids(corpus, "华信科技", access)) == expected
    # A number outside the filter is not revealed either.
    assert ids(corpus, "HT-2023-001", access) == ([1] if 1 in expected else [])


def test_filters(corpus: SearchIndex) -> None:
    assert ids(corpus, "", category="business") == [3, 1, 4]  # newest first, undated last
    assert ids(corpus, "", category="business.order") == [3]
    assert ids(corpus, "", category="service") == [2]
    assert ids(corpus, "", department="FIN") == [4]
    assert ids(corpus, "", status="submitted") == [5]
    assert ids(corpus, "", customer_id=2) == [2]
    assert ids(corpus, "", date_from=date(2023, 1, 1)) == [3, 5, 1]
    assert ids(corpus, "", date_to=date(2023, 1, 1)) == [1, 2]
    assert ids(corpus, "", date_from=date(2023, 1, 2), date_to=date(2023, 12, 31)) == [5]
    assert ids(corpus, "华信", category="business", date_from=date(2024, 1, 1)) == [3]


def test_sort_by_date_puts_undated_last(corpus: SearchIndex) -> None:
    assert ids(corpus, "华信", sort="date") == [3, 5, 1, 2, 4]
    assert ids(corpus, "") == [3, 5, 1, 2, 4]


def test_paging(index: SearchIndex) -> None:
    index.update(
        make_doc(i, body="年度审计报告", document_date=date(2020, 1, 1 + i)) for i in range(1, 26)
    )
    seen = []
    for page_number in (1, 2, 3):
        page = index.search(
            SearchQuery(text="审计", access=EVERYONE, page=page_number, per_page=10, sort="date")
        )
        assert page.total == 25
        seen += [h.id for h in page.hits]
    assert seen == list(range(25, 0, -1))
    empty = index.search(SearchQuery(text="审计", access=EVERYONE, page=4, per_page=10))
    assert empty.hits == [] and empty.total == 25
    with pytest.raises(QueryError):
        index.search(SearchQuery(text="审计", access=EVERYONE, page=0))


# --------------------------------------------------------------------------- writes


def test_update_replaces_and_remove_deletes(corpus: SearchIndex) -> None:
    assert corpus.update([make_doc(2, body="已撤诉")]) == 1
    assert ids(corpus, "售后") == []
    assert ids(corpus, "撤诉") == [2]
    assert corpus.count() == 5
    assert corpus.remove([2, 99]) == 1
    assert ids(corpus, "撤诉") == []
    assert corpus.ids() == {1, 3, 4, 5}
    assert corpus.update([]) == 0 and corpus.remove([]) == 0


def test_a_batch_with_a_repeated_id_keeps_the_last(index: SearchIndex) -> None:
    index.update([make_doc(1, body="旧版本"), make_doc(1, body="新版本")])
    assert ids(index, "新版本") == [1] and ids(index, "旧版本") == []
    assert index.count() == 1


def test_rebuild_replaces_everything(corpus: SearchIndex, tmp_path: Path) -> None:
    assert corpus.rebuild([make_doc(7, body="重建后的索引"), make_doc(8)], workers=0) == 2
    assert corpus.ids() == {7, 8}
    assert ids(corpus, "重建") == [7]
    assert ids(corpus, "售后") == []
    # Another handle on the same directory sees the new content too.
    assert SearchIndex(corpus.directory, key=KEY).ids() == {7, 8}


def test_rebuild_with_worker_processes(index: SearchIndex) -> None:
    docs = [make_doc(i, body=f"第{i}号文件，采购合同") for i in range(1, 301)]
    assert index.rebuild(docs, workers=2, segment_docs=100) == 300
    assert index.ids() == set(range(1, 301))
    page = index.search(SearchQuery(text="采购合同", access=EVERYONE, per_page=50))
    assert page.total == 300 and len(page.hits) == 50
    assert ids(index, "K0012023010007") == [7]


def test_readers_see_old_content_until_rebuild_commits(corpus: SearchIndex) -> None:
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        reader = SearchIndex(corpus.directory, key=KEY)
        while not stop.is_set():
            seen.append(reader.count())

    thread = threading.Thread(target=read)
    thread.start()
    try:
        corpus.rebuild([make_doc(i) for i in range(10, 40)], workers=0)
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert 0 not in seen
    assert seen[-1] == 30


def test_writers_wait_for_the_lock(tmp_path: Path) -> None:
    first = SearchIndex(tmp_path / "ix", key=KEY)
    second = SearchIndex(tmp_path / "ix", key=KEY, lock_timeout=30)
    results: list[int] = []
    with first._write_lock():
        thread = threading.Thread(target=lambda: results.append(second.update([make_doc(1)])))
        thread.start()
        time.sleep(0.5)
        assert results == []  # still waiting, not failed
    thread.join(timeout=30)
    assert results == [1]


def test_a_writer_gives_up_after_the_lock_timeout(tmp_path: Path) -> None:
    from search import IndexBusy

    first = SearchIndex(tmp_path / "ix", key=KEY)
    impatient = SearchIndex(tmp_path / "ix", key=KEY, lock_timeout=0.3)
    with first._write_lock(), pytest.raises(IndexBusy):
        impatient.update([make_doc(1)])


def test_body_is_not_stored(corpus: SearchIndex) -> None:
    stored = list(corpus._snapshot().searcher.reader().iter_docs())
    assert stored and all(set(fields) == {"id"} for _d, fields in stored)
    raw = b"".join(p.read_bytes() for p in corpus.directory.iterdir() if p.is_file())
    assert "银行转账".encode() not in raw


# --------------------------------------------------------------------------- highlight


def test_highlight_marks_matches_and_escapes() -> None:
    text = "<b>前言</b>" + "无关内容。" * 50 + "本合同由甲方与乙方签订。" + "其他。" * 50
    snippets = highlight(text, "甲方 合同")
    assert snippets
    joined = "".join(snippets)
    assert "<mark>甲方</mark>" in joined and "<mark>合同</mark>" in joined
    assert "<b>" not in joined


def test_highlight_folds_and_handles_numbers() -> None:
    assert "<mark>客戶檔案</mark>" in highlight("请查阅客戶檔案。", "客户档案")[0]
    assert "<mark>HT-2023-001</mark>" in highlight("合同编号HT-2023-001。", "ht-2023-001")[0]
    assert highlight("合同编号HT-2023-0011。", "HT-2023-001") == []
    assert highlight("anything", "") == []


# --------------------------------------------------------------------------- side files


SIDE_QUERIES = [
    "合同",
    "付款",
    "付款 银行",
    "采购合同",
    "付款 -银行",
    "付款 OR 售后",
    '"甲方与乙方"',
    '"2023年度"',
    "票",
    "HT-2023-001",
    "PAYMENT",
    "客戶檔案",
    "华信科技",
    "*",
]


def snapshot_of(index: SearchIndex, access: AccessFilter = EVERYONE) -> list[object]:
    out: list[object] = []
    for text in SIDE_QUERIES:
        for kw in ({}, {"sort": "date"}, {"category": "business"}):
            page = index.search(SearchQuery(text=text, access=access, per_page=100, **kw))  # type: ignore[arg-type]
            out.append((text, kw, page.total, [(h.id, h.score) for h in page.hits]))
    return out


def side_files(index: SearchIndex) -> set[str]:
    return {p.name for p in index.directory.iterdir() if p.name.endswith(".sidepost")}


def live_segments(index: SearchIndex) -> set[str]:
    return {leaf.segment_id for leaf in index._snapshot().leaves if leaf.segment_id}


def test_every_segment_gets_a_side_file_and_searches_use_it(corpus: SearchIndex) -> None:
    corpus.update([make_doc(6, body="补充协议")])
    snap = corpus._snapshot()
    assert len(snap.leaves) >= 1
    assert all(leaf.side is not None for leaf in snap.leaves)
    assert side_files(corpus) == {f"{s}.sidepost" for s in live_segments(corpus)}
    assert ids(corpus, "补充协议") == [6]


def test_side_file_postings_are_whoosh_postings(corpus: SearchIndex) -> None:
    from search.whoosh_internals import posting_blocks

    snap = corpus._snapshot()
    checked = 0
    for leaf in snap.leaves:
        reader = leaf.reader
        assert leaf.side is not None
        for (field, term), _info in reader:
            expected_ids: list[int] = []
            expected_weights: list[float] = []
            for ids_, weights, _values in posting_blocks(reader, field, term):
                expected_ids += list(ids_)
                expected_weights += list(weights)
            side = leaf.side.get(field, term)
            assert side is not None, (field, term)
            assert side[0].tolist() == expected_ids
            assert side[1].astype(float).tolist() == expected_weights
            checked += 1
        assert leaf.side.get("body", "不存在".encode()) is None
    assert checked > 100


def test_results_are_the_same_without_side_files(corpus: SearchIndex) -> None:
    corpus.update([make_doc(2, body="已撤诉")])  # a deletion in the first segment
    corpus.update([make_doc(6, body="补充协议，付款方式为银行转账。", customer_id=9)])
    clerk = AccessFilter(customers=frozenset({1, 9}), documents=frozenset({3}))
    with_side = snapshot_of(corpus), snapshot_of(corpus, clerk)
    for name in side_files(corpus):
        (corpus.directory / name).unlink()
    fresh = SearchIndex(corpus.directory, key=KEY)
    assert all(leaf.side is None for leaf in fresh._snapshot().leaves)
    assert (snapshot_of(fresh), snapshot_of(fresh, clerk)) == with_side


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other segment"])
def test_a_damaged_side_file_is_ignored(corpus: SearchIndex, damage: str) -> None:
    corpus.update([make_doc(6, body="补充协议")])
    expected = snapshot_of(corpus)
    names = sorted(side_files(corpus))
    assert len(names) == 2
    first, second = (corpus.directory / n for n in names)
    if damage == "truncate":
        first.write_bytes(first.read_bytes()[:-100])
    elif damage == "garbage":
        first.write_bytes(b"\0" * 1000)
    else:  # another segment's side file under this segment's name
        first.write_bytes(second.read_bytes())
    fresh = SearchIndex(corpus.directory, key=KEY)
    sides = [leaf.side for leaf in fresh._snapshot().leaves]
    assert sides.count(None) == 1
    assert snapshot_of(fresh) == expected


def test_a_failed_side_file_write_leaves_the_index_as_it_was(
    corpus: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    from search import index_postings

    expected = snapshot_of(corpus)
    failed: list[str] = []

    def crash(directory: str, segment_id: str, *args: object) -> None:
        # Half a file under the temporary name, as a killed writer would leave it.
        (Path(directory) / f"{segment_id}.sidepost.tmp").write_bytes(b"WXSIDE01")
        failed.append(segment_id)
        raise OSError("disk full")

    monkeypatch.setattr(index_postings, "write_side_file", crash)
    with pytest.raises(OSError, match="disk full") as failure:
        corpus.update([make_doc(6, body="补充协议")])
    assert snapshot_of(SearchIndex(corpus.directory, key=KEY)) == expected
    assert ids(corpus, "补充协议") == []
    monkeypatch.undo()
    # The next write is not blocked, and its commit deletes the failed segment's files.
    assert corpus.update([make_doc(6, body="补充协议")]) == 1
    assert ids(corpus, "补充协议") == [6]
    assert failed and not [p for p in corpus.directory.iterdir() if failed[0] in p.name]
    del failure  # its traceback held the failed writer: its lock had to be released anyway
    assert side_files(corpus) == {f"{s}.sidepost" for s in live_segments(corpus)}


def test_merged_segments_keep_side_files_and_lose_the_old_ones(index: SearchIndex) -> None:
    for i in range(1, 16):  # small commits: Whoosh merges them as they accumulate
        index.update([make_doc(i, body=f"第{i}号合同，付款")])
    index.remove([3])
    snap = index._snapshot()
    assert all(leaf.side is not None for leaf in snap.leaves)
    assert side_files(index) == {f"{s}.sidepost" for s in live_segments(index)}
    assert sorted(ids(index, "付款")) == [i for i in range(1, 16) if i != 3]


def test_rebuild_workers_write_side_files(index: SearchIndex) -> None:
    docs = [make_doc(i, body=f"第{i}号文件，采购合同") for i in range(1, 301)]
    index.rebuild(docs, workers=2, segment_docs=100)
    snap = index._snapshot()
    assert len(snap.leaves) == 3 and all(leaf.side is not None for leaf in snap.leaves)
    assert side_files(index) == {f"{s}.sidepost" for s in live_segments(index)}
    assert index.search(SearchQuery(text="采购", access=EVERYONE)).total == 300


def test_threads_share_caches_and_agree(corpus: SearchIndex) -> None:
    expected = snapshot_of(corpus)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(snapshot_of(corpus))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


def test_date_column_fast_read_matches_whoosh(corpus: SearchIndex) -> None:
    from search.whoosh_internals import numeric_column

    for leaf in corpus._snapshot().leaves:
        column = leaf.reader.column_reader("document_date", translate=False)
        slow = [int(column[d] or 0) for d in range(leaf.count)]
        fast = numeric_column(column, leaf.count)
        assert fast is not None and fast.tolist() == slow
    assert 0 in corpus._snapshot().dates().tolist()  # the undated document


def test_length_column_fast_read_matches_whoosh(corpus: SearchIndex) -> None:
    from search.whoosh_internals import field_lengths

    for leaf in corpus._snapshot().leaves:
        for field in ("title", "body", "tags"):
            slow = [leaf.reader.doc_field_length(d, field) or 0 for d in range(leaf.count)]
            fast = field_lengths(leaf.reader, field, leaf.count)
            assert fast is not None and fast.tolist() == slow
            assert any(slow) or field == "tags"


@pytest.mark.parametrize("slice_postings", [1 << 20, 1, 3])
def test_side_file_round_trip(tmp_path: Path, slice_postings: int) -> None:
    from array import array

    from search.index_postings import open_side_file, write_side_file

    terms: dict[tuple[str, bytes], tuple[array[int], array[float], list[bytes]]] = {
        ("body", "合同".encode()): (array("I", [0, 5, 70000]), array("f", [1, 2, 300]), []),
        ("body", b"x"): (array("I", [9, 3, 4]), array("f", [0.5, 1, 70000]), []),  # unsorted
        ("id", b"7"): (array("I", [7]), array("f", [1]), []),
        ("title", b"y"): (array("I", [2, 1]), array("f", [3, 4]), []),  # unsorted
    }
    terms.update(
        {
            ("tags", f"t{i}".encode()): (array("I", [i, i + 1]), array("f", [i, 1]), [])
            for i in range(9)
        }
    )
    write_side_file(tmp_path, "ix_seg1", 70001, terms, slice_postings=slice_postings)
    side = open_side_file(tmp_path, "ix_seg1", 70001)
    assert side is not None
    docs, weights = side.get("body", "合同".encode())  # type: ignore[misc]
    assert docs.tolist() == [0, 5, 70000] and docs.dtype.itemsize == 4
    assert weights.tolist() == [1, 2, 300] and weights.dtype.itemsize == 2
    docs, weights = side.get("body", b"x")  # type: ignore[misc]
    assert docs.tolist() == [3, 4, 9] and weights.tolist() == [1, 70000, 0.5]
    docs, weights = side.get("title", b"y")  # type: ignore[misc]
    assert docs.tolist() == [1, 2] and weights.tolist() == [4, 3]
    for i in range(9):
        docs, weights = side.get("tags", f"t{i}".encode())  # type: ignore[misc]
        assert docs.tolist() == [i, i + 1] and weights.tolist() == [i, 1]
    assert side.get("id", b"7")[0].tolist() == [7]  # type: ignore[index]
    assert side.get("id", b"8") is None and side.get("title", b"7") is None
    assert open_side_file(tmp_path, "ix_seg1", 70000) is None  # another document count
    assert open_side_file(tmp_path, "ix_seg2", 70001) is None  # no file
    assert not list(tmp_path.glob("*.tmp"))


def test_side_file_refuses_postings_beyond_the_segment(tmp_path: Path) -> None:
    from array import array

    from search.index_postings import side_path, write_side_file

    terms: dict[tuple[str, bytes], tuple[array[int], array[float], list[bytes]]] = {
        ("body", b"x"): (array("I", [3, 10]), array("f", [1, 1]), [])
    }
    with pytest.raises(ValueError, match="beyond"):
        write_side_file(tmp_path, "ix_seg1", 10, terms)
    assert not list(tmp_path.iterdir()) and not side_path(tmp_path, "ix_seg1").exists()


_KILLED_WRITER = """
import sys
from pathlib import Path
from search import SearchIndex
from tests.search.conftest import KEY, make_doc

words = "采购合同 付款 发票 客户投诉 售后服务 交货 验收 担保 保证金 违约".split()
docs = (
    make_doc(i, body=" ".join(words[(i * 7 + k) % len(words)] for k in range(400)))
    for i in range(1000, 7000)
)
index = SearchIndex(Path(sys.argv[1]), key=KEY)
Path(sys.argv[2]).write_text("writing")
index.update(docs)
Path(sys.argv[2]).write_text("committed")
"""


def test_a_writer_killed_mid_batch_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    """SIGKILL while a batch is being written: the batch is invisible (commits are atomic),
    the lock is free for the next writer, and its commit clears the dead writer's files."""
    root = Path(__file__).resolve().parents[2]
    directory, marker = tmp_path / "ix", tmp_path / "marker"
    index = SearchIndex(directory, key=KEY)
    index.update([make_doc(i, body="采购合同") for i in range(50)])
    before = {p.name for p in directory.iterdir()}
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", _KILLED_WRITER, str(directory), str(marker)], cwd=root
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        # Wait until the dead writer will have left something behind: a batch being written.
        while {p.name for p in directory.iterdir()} <= before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert marker.read_text() == "writing", "the writer finished before it could be killed"
    dead_files = {p.name for p in directory.iterdir()}
    assert dead_files - before, "the dead writer left no files"

    survivor = SearchIndex(directory, key=KEY, lock_timeout=5)
    assert survivor.ids() == set(range(50))
    assert survivor.update([make_doc(60, body="售后服务")]) == 1
    assert survivor.ids() == set(range(50)) | {60}
    hits = survivor.search(SearchQuery(text="售后服务", access=EVERYONE))
    assert [h.id for h in hits.hits] == [60]
    # What the dead writer left is gone once the next writer has committed.
    left_by_dead = dead_files - before
    assert not left_by_dead & {p.name for p in directory.iterdir()}
