"""The analyzer: folding, bigrams with sequential positions, words, numbers."""

from __future__ import annotations

import pytest

from search.analysis import (
    MixedTokenizer,
    fold,
    index_terms,
    normalize_identifier,
    query_terms,
)


def test_fold_traditional_fullwidth_and_case_keeps_length() -> None:
    text = "客戶檔案 ＨＴ－２０２３ Contract"
    folded = fold(text)
    assert folded == "客户档案 ht-2023 contract"
    assert len(folded) == len(text)


def test_chinese_run_becomes_sequential_bigrams_with_edge_characters() -> None:
    terms = index_terms("采购合同")
    assert terms["采购"] == [0] and terms["购合"] == [1] and terms["合同"] == [2]
    assert terms["采"] == [0] and terms["同"] == [2]


def test_words_and_numbers_are_lowercased_whole_tokens() -> None:
    terms = index_terms("Contract HT-2023-001 信用代码91310000MA1FL8XQ30")
    assert {"contract", "ht", "2023", "001", "91310000ma1fl8xq30"} <= terms.keys()
    # A number glued to Chinese is still its own token, next to the characters.
    assert terms["码"] == [terms["91310000ma1fl8xq30"][0] - 1]


def test_positions_are_consecutive_across_scripts() -> None:
    terms = index_terms("2023年度报告")
    assert terms["2023"] == [0]
    assert terms["年度"] == [1] and terms["年"] == [1]
    assert terms["报告"] == [3]


def test_query_terms_match_index_positions() -> None:
    doc = index_terms("本公司于2023年签订采购合同HT-2023-001号")
    for query in ("采购合同", "2023年", "合同HT-2023-001", "001号"):
        terms = [t.text for t in query_terms(query)]
        starts = doc[terms[0]]
        assert any(all(p + i in doc.get(t, []) for i, t in enumerate(terms)) for p in starts), query


def test_tokenizer_matches_fast_path() -> None:
    text = "客戶檔案：上海華信 HT-2023-001，哈哈，年"
    stream: dict[str, list[int]] = {}
    for token in MixedTokenizer()(text, positions=True, chars=True):
        stream.setdefault(token.text, []).append(token.pos)
        assert fold(text[token.startchar : token.endchar]) in (token.text, token.text[:1])
    assert stream == index_terms(text)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("q001-k・２０２３-d30-0001", "Q001-K·2023-D30-0001"),
        (" ht-2023-001 ", "HT-2023-001"),
        ("91310000MA1FL8XQ30", "91310000MA1FL8XQ30"),
    ],
)
def test_identifiers_normalize(raw: str, normal: str) -> None:
    assert normalize_identifier(raw) == normal
