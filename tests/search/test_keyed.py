"""The index folder alone reveals no text: keyed terms, and indexes written without the key.

The first test reads the index as an intruder with a copy of the folder would, with Whoosh
and no key: every term of every field, and every posting with its positions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage

from search import AccessFilter, IndexNeedsRebuild, SearchIndex, SearchQuery, TermKey
from search.analysis import fold, index_terms, normalize_identifier
from search.keyed import KEYED_FIELDS, PLAIN_FIELDS
from tests.search.conftest import KEY, make_doc

EVERYONE = AccessFilter(everything=True)
OTHER_KEY = bytes(range(1, 33))

SENTENCE = "甲方应于交货后三十日内支付全部货款"
ENGLISH = "indemnification"
CREDIT_CODE = "91310000MA1FL5XX3Q"
PHONE = "13912345678"
COMPANY = "上海恒泰隆贸易有限公司"
CONTRACT = "HT-2023-0815"

SECRETS = [
    make_doc(
        1,
        title=f"{COMPANY}采购合同",
        body=f"{SENTENCE}。The {ENGLISH} clause applies. 联系电话 {PHONE}，统一社会信用代码 {CREDIT_CODE}。",
        customer_name=COMPANY,
        customer_code=CREDIT_CODE,
        identifiers=(CONTRACT, PHONE),
        tags=("重要客户",),
    ),
    make_doc(2, body="发票已开具，售后服务良好。", customer_id=2, department="FIN"),
]


def ids(index: SearchIndex, text: str, **kw: object) -> list[int]:
    query = SearchQuery(text=text, access=EVERYONE, per_page=100, **kw)  # type: ignore[arg-type]
    return sorted(h.id for h in index.search(query).hits)


def read_without_key(directory: Path) -> dict[str, dict[int, list[tuple[int, str]]]]:
    """Every field's terms, per document with their positions, as Whoosh gives them."""
    name = (directory / "CURRENT").read_text().split("\n")[0].strip()
    ix = FileStorage(str(directory)).open_index(indexname=name)
    out: dict[str, dict[int, list[tuple[int, str]]]] = {}
    with ix.reader() as reader:
        for field in ix.schema.names():
            if not ix.schema[field].indexed:
                continue
            docs = out.setdefault(field, {})
            for term in reader.lexicon(field):
                text = term.decode("utf-8", "replace") if isinstance(term, bytes) else str(term)
                matcher = reader.postings(field, term)
                positional = matcher.supports("positions")
                while matcher.is_active():
                    poses = matcher.value_as("positions") if positional else [0]
                    docs.setdefault(matcher.id(), []).extend((p, text) for p in poses)
                    matcher.next()
    return out


def test_the_index_folder_read_without_the_key_gives_back_no_text(index: SearchIndex) -> None:
    index.update(SECRETS)
    found = read_without_key(index.directory)
    assert set(found) >= KEYED_FIELDS  # the walk saw every field that holds content
    terms = {t for docs in found.values() for seq in docs.values() for _p, t in seq}
    # Each document's text as the positions order its terms, and Chinese re-joined from
    # overlapping bigrams (an intruder's first try).
    rebuilt = []
    for docs in found.values():
        for seq in docs.values():
            ordered = [t for _p, t in sorted(seq)]
            rebuilt.append(" ".join(ordered))
            rebuilt.append(ordered[0] + "".join(t[-1:] for t in ordered[1:]) if ordered else "")
    plain = [SENTENCE, ENGLISH, CREDIT_CODE, PHONE, COMPANY, CONTRACT, "重要客户", "发票已开具"]
    for secret in plain:
        pieces = {t for t in index_terms(secret) if len(t) > 1 or not t.isascii()}
        pieces |= {normalize_identifier(secret), fold(secret)}
        assert not pieces & terms, (secret, pieces & terms)
        assert not any(fold(secret) in text.lower() for text in rebuilt), secret
    # Nor in the files themselves (term dictionaries, postings, side files).
    raw = b"".join(p.read_bytes() for p in index.directory.iterdir() if p.is_file())
    for secret in plain:
        for piece in {secret, fold(secret), *index_terms(secret)}:
            if len(piece.encode()) >= 6:
                assert piece.encode() not in raw, piece
    # What stays plain is ids and vocabulary codes only.
    plain_terms = {f: {t for seq in found[f].values() for _p, t in seq} for f in PLAIN_FIELDS}
    assert plain_terms["department"] == {"SALES", "FIN"}
    assert plain_terms["customer_id"] == {"1", "2"}


def test_word_phrase_number_code_character_and_filters_still_find_their_documents(
    index: SearchIndex,
) -> None:
    index.update(SECRETS)
    assert ids(index, "货款") == [1]
    assert ids(index, f'"{SENTENCE[3:9]}"') == [1]
    assert ids(index, '"货款 支付"') == []  # positions still say the order
    assert ids(index, ENGLISH.upper()) == [1]
    assert ids(index, CREDIT_CODE.lower()) == [1]
    assert ids(index, PHONE) == [1]
    assert ids(index, CONTRACT) == [1]
    assert ids(index, "恒泰隆") == [1]
    assert ids(index, "隆") == [1]  # a lone character: through its keyed bigrams
    assert ids(index, "售") == [2]
    assert ids(index, "服务 OR 货款", department="FIN") == [2]
    assert ids(index, "-发票 *") == [1]


def test_another_key_finds_nothing_and_is_refused(index: SearchIndex) -> None:
    index.update(SECRETS)
    other = SearchIndex(index.directory, key=OTHER_KEY)
    assert other.needs_rebuild() == "other-key"
    with pytest.raises(IndexNeedsRebuild):
        other.search(SearchQuery(text="货款", access=EVERYONE))
    with pytest.raises(IndexNeedsRebuild):
        other.update([make_doc(3, body="货款")])
    assert other.ids() == {1, 2}  # ids and counts still answer (the check compares them)
    other.rebuild(SECRETS, workers=0)
    assert other.needs_rebuild() is None and ids(other, "货款") == [1]
    assert index.needs_rebuild() == "other-key"


def test_an_index_written_before_keyed_terms_is_detected_and_rebuilt(
    index: SearchIndex,
) -> None:
    index.update(SECRETS)
    current = index.directory / "CURRENT"
    # Older code wrote the generation's name alone, and plain terms into it.
    current.write_text(current.read_text().split("\n")[0] + "\n")
    assert index.needs_rebuild() == "unkeyed"
    with pytest.raises(IndexNeedsRebuild, match="rebuilt"):
        index.search(SearchQuery(text="货款", access=EVERYONE))
    assert index.rebuild(SECRETS, workers=0) == 2
    assert index.needs_rebuild() is None
    assert ids(index, CREDIT_CODE) == [1]


def test_the_key_is_never_in_the_index_folder(index: SearchIndex) -> None:
    index.update(SECRETS)
    key = TermKey(KEY)
    raw = b"".join(p.read_bytes() for p in index.directory.iterdir() if p.is_file())
    assert KEY not in raw and KEY.hex().encode() not in raw
    assert key.fingerprint.encode() in (index.directory / "CURRENT").read_bytes()
    assert "TermKey(hmac-sha256-96:" in repr(key) and KEY.hex() not in repr(key)
    with pytest.raises(ValueError, match="32 bytes"):
        TermKey(b"short")
