"""Tantivy (tantivy-py) over the search benchmark's corpus: the ceiling beside our Whoosh engine.

Same documents, same query classes, same clerk's access filter as ``search_bench.py``
(which imports this module and prints its figures beside ours). Text is tokenised by
our own analysis (:func:`search.analysis.query_terms`: folded, Chinese bigrams with
consecutive positions, Latin words and numbers) and handed to Tantivy's whitespace
tokenizer, so both engines see the same terms; a query is translated unit by unit the
way ``search/query.py`` reads it (every unit required; each unit matched in title ×3,
customer name ×2, tags ×2, body ×1 or exactly in the numbers ×8 and identifiers ×6; an
unquoted Chinese word as all its bigrams, a quoted phrase or a mixed word as a phrase).
Terms are not keyed here (Tantivy holds plain tokens): a ceiling for speed, not a
candidate as it stands. Run alone::

    python benchmarks/search_tantivy.py --docs 10000
"""

# ruff: noqa: S311 - seeded pseudo-random corpora, for reproducibility, not security
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search import AccessFilter, IndexedDocument  # noqa: E402
from search.analysis import is_cjk, normalize_identifier, query_terms, spans  # noqa: E402
from search.query import EXACT_FIELDS, TEXT_FIELDS, Unit, split_units  # noqa: E402

tantivy: Any
try:
    import tantivy
except ImportError:  # reported by the caller
    tantivy = None

__all__ = ["TantivyIndex", "available"]


def available() -> bool:
    return tantivy is not None


def _tokens(text: str) -> str:
    return " ".join(t.text for t in query_terms(text))


class TantivyIndex:
    """The corpus in a Tantivy index in ``directory``: build, then search like ours."""

    def __init__(self, directory: Path) -> None:
        if tantivy is None:
            raise RuntimeError("tantivy is not installed (pip install tantivy==0.27.0)")
        builder = tantivy.SchemaBuilder()
        builder.add_unsigned_field("id", stored=True, indexed=True, fast=True)
        for field in TEXT_FIELDS:
            builder.add_text_field(field, tokenizer_name="whitespace", index_option="position")
        for field in (*EXACT_FIELDS, "department"):
            builder.add_text_field(field, tokenizer_name="raw", index_option="basic")
        builder.add_unsigned_field("customer_id", indexed=True)
        self.schema = builder.build()
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.index = tantivy.Index(self.schema, path=str(directory))

    def build(self, docs: Iterable[IndexedDocument], threads: int = 2) -> int:
        writer = self.index.writer(heap_size=256_000_000, num_threads=threads)
        count = 0
        for doc in docs:
            row = tantivy.Document()
            row.add_unsigned("id", doc.id)
            row.add_unsigned("customer_id", doc.customer_id)
            row.add_text("department", doc.department)
            texts = {
                "title": doc.title,
                "body": doc.body,
                "customer_name": doc.customer_name,
                "tags": "\n".join(doc.tags),
            }
            for field, text in texts.items():
                row.add_text(field, _tokens(text))
            exact = {"numbers": doc.numbers, "identifiers": doc.identifiers}
            exact["customer_code"] = (doc.customer_code,) if doc.customer_code else ()
            for field, values in exact.items():
                for value in values:
                    row.add_text(field, normalize_identifier(value))
            writer.add_document(row)
            count += 1
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self._searcher = self.index.searcher()
        return count

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())

    # -- queries

    def _unit(self, unit: Unit) -> Any:
        Query, Occur = tantivy.Query, tantivy.Occur  # noqa: N806 - the library's names
        choices = []
        terms: list[str | tuple[int, str]] = [t.text for t in query_terms(unit.text)]
        if terms:
            runs = [run for _s, _e, run in spans(unit.text)]
            ordered = unit.phrase or len(runs) != 1 or not is_cjk(runs[0])
            for field, boost in TEXT_FIELDS.items():
                if len(terms) == 1:
                    q = Query.term_query(self.schema, field, terms[0])
                elif ordered:
                    q = Query.phrase_query(self.schema, field, terms)
                else:
                    q = Query.boolean_query(
                        [(Occur.Must, Query.term_query(self.schema, field, t)) for t in terms]
                    )
                choices.append((Occur.Should, Query.boost_query(q, boost)))
        if any(c.isalnum() and c.isascii() for c in unit.text):
            exact = normalize_identifier(unit.text)
            for field, boost in EXACT_FIELDS.items():
                q = Query.term_query(self.schema, field, exact)
                choices.append((Occur.Should, Query.boost_query(q, boost)))
        return Query.boolean_query(choices) if choices else None

    def _access(self, access: AccessFilter) -> Any:
        Query, Occur = tantivy.Query, tantivy.Occur  # noqa: N806
        parts = [
            (Occur.Should, Query.term_query(self.schema, "department", d))
            for d in sorted(access.departments)
        ]
        if access.customers:
            ids = sorted(access.customers)
            parts.append((Occur.Should, Query.term_set_query(self.schema, "customer_id", ids)))
        if access.documents:
            ids = sorted(access.documents)
            parts.append((Occur.Should, Query.term_set_query(self.schema, "id", ids)))
        return Query.boolean_query(parts)

    def search(self, text: str, access: AccessFilter, limit: int = 20) -> tuple[int, list[int]]:
        """(total, ids of the first page) for the query box ``text`` within ``access``."""
        Query, Occur = tantivy.Query, tantivy.Occur  # noqa: N806
        parts = [(Occur.Must, self._access(access))]
        for item in split_units(text):
            if isinstance(item, Unit) and not item.negated:
                unit = self._unit(item)
                if unit is not None:
                    parts.append((Occur.Must, unit))
        searcher = self._searcher
        if len(parts) == 1:  # an empty box: newest first is not modelled, list by id
            found = searcher.search(parts[0][1], limit=limit, count=True, order_by_field="id")
        else:
            found = searcher.search(Query.boolean_query(parts), limit=limit, count=True)
        ids = [searcher.doc(address)["id"][0] for _score, address in found.hits]
        return getattr(found, "count", None) or 0, ids


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from search_corpus import generate

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    args = parser.parse_args()
    docs, _labels = generate(args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        ix = TantivyIndex(Path(tmp) / "tantivy")
        started = time.perf_counter()
        ix.build(docs)
        elapsed = time.perf_counter() - started
        print(f"tantivy: {args.docs / elapsed:,.0f} docs/s, {ix.size() / 2**20:,.0f} MiB")
        sales = AccessFilter(departments=frozenset({"SALES"}))
        for text in ("合同", '"甲方与乙方"', "编号HT-2020"):
            print(text, ix.search(text, sales))


if __name__ == "__main__":
    main()
