"""The quarantine of Whoosh's internals: a version check on import, and nowhere else."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import whoosh

from search import AccessFilter, SearchIndex, SearchQuery, whoosh_internals
from tests.search.conftest import KEY, make_doc

SEARCH = Path(__file__).resolve().parents[2] / "search"
# Whoosh modules with a documented, public API; anything else is for whoosh_internals.py.
PUBLIC_WHOOSH = {
    "whoosh",
    "whoosh.analysis",
    "whoosh.fields",
    "whoosh.filedb.filestore",
    "whoosh.index",
    "whoosh.query",
    "whoosh.searching",
}


def test_the_pinned_version_is_accepted() -> None:
    assert tuple(whoosh.__version__)[:3] == whoosh_internals.PINNED_VERSION
    whoosh_internals.check_version()


@pytest.mark.parametrize("version", [(2, 7, 6), (2, 8, 0), (3, 0, 0), (2, 7)])
def test_another_version_is_refused(monkeypatch: pytest.MonkeyPatch, version: tuple[int]) -> None:
    monkeypatch.setattr(whoosh, "__version__", version)
    with pytest.raises(ImportError, match=r"Whoosh-Reloaded 2\.7\.5 and found") as refused:
        whoosh_internals.check_version()
    assert ".".join(map(str, version)) in str(refused.value)


def test_opening_the_index_with_another_version_fails() -> None:
    code = "import whoosh; whoosh.__version__ = (2, 8, 0); from search import SearchIndex"
    root = SEARCH.parent
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "ImportError: search/whoosh_internals.py is written for Whoosh-Reloaded 2.7.5" in (
        done.stderr
    )


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("whoosh"):
            if node.module not in PUBLIC_WHOOSH:
                found.append(f"{path.name}:{node.lineno}: from {node.module}")
        elif isinstance(node, ast.Import):
            found += [
                f"{path.name}:{node.lineno}: import {a.name}"
                for a in node.names
                if a.name.startswith("whoosh") and a.name not in PUBLIC_WHOOSH
            ]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value
            own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            # os._exit is public, documented API (the exit of a forked child) despite its name.
            own = own or (isinstance(owner, ast.Name) and (owner.id, node.attr) == ("os", "_exit"))
            if not own and not (node.attr.startswith("__") and node.attr.endswith("__")):
                found.append(f"{path.name}:{node.lineno}: ._{node.attr.lstrip('_')}")
    return found


def test_no_other_search_module_reaches_into_whoosh() -> None:
    modules = [p for p in sorted(SEARCH.glob("*.py")) if p.name != "whoosh_internals.py"]
    assert len(modules) > 10
    assert [use for p in modules for use in _private_uses(p)] == []
    assert _private_uses(SEARCH / "whoosh_internals.py")  # the check does see them


def test_slow_paths_give_the_same_results(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a column cannot be read in one go, one call per document: same answers."""
    from search import snapshot

    index.update(
        [
            make_doc(1, body="采购合同", document_date=date(2021, 5, 1)),
            make_doc(2, body="采购合同，采购订单" * 5, document_date=date(2023, 1, 9)),
            make_doc(3, body="合同" * 3, document_date=None),
        ]
    )
    index.update([make_doc(4, title="采购", tags=("重要",), document_date=date(2022, 2, 2))])

    def answers(ix: SearchIndex) -> list[object]:
        out: list[object] = []
        for text, sort in (("采购", "relevance"), ("合同", "date"), ("", "date")):
            page = ix.search(
                SearchQuery(text=text, access=AccessFilter(everything=True), sort=sort)
            )
            out.append([(h.id, h.score) for h in page.hits])
        return out

    fast = answers(index)
    assert fast[2] == [(2, 0.0), (4, 0.0), (1, 0.0), (3, 0.0)]  # by date, undated last
    refused: list[str] = []

    def cannot(name: str) -> Callable[..., None]:
        return lambda *_args: refused.append(name)

    monkeypatch.setattr(snapshot, "field_lengths", cannot("lengths"))
    monkeypatch.setattr(snapshot, "numeric_column", cannot("dates"))
    assert answers(SearchIndex(index.directory, key=KEY)) == fast
    assert {"lengths", "dates"} <= set(refused)


def test_indexes_written_before_the_split_still_open(tmp_path: Path) -> None:
    """Whoosh pickles the schema into the index: earlier indexes name the full-text
    field class "search.index.MixedText", which must keep resolving."""
    import pickle

    from search.schema import MixedText

    old_reference = b"\x80\x02csearch.index\nMixedText\nq\x00."
    assert pickle.loads(old_reference) is MixedText  # noqa: S301 - a constant
    index = SearchIndex(tmp_path / "ix", key=KEY)
    index.update([make_doc(1, body="采购合同")])
    toc = next((tmp_path / "ix").glob("_archive_1_*.toc")).read_bytes()
    assert b"search.schema" in toc and b"MixedText" in toc


def test_extracting_text_imports_neither_whoosh_nor_numpy() -> None:
    """The sandboxed child imports search.extract only: the package loads the index (Whoosh,
    numpy) on first use, so each extraction does not pay for it."""
    import subprocess
    import sys

    code = "import sys, search.extract; print('whoosh' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
