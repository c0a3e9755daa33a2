"""A search evaluated on a snapshot: access and filters as masks, the query plan, BM25, top k.

Filters come first (the caller's access among them), so every later step, and the
total, only counts documents the caller may open. Pure numpy over :mod:`search.snapshot`.
"""

from __future__ import annotations

import math

import numpy as np
from whoosh import query as wq

from search.query import Clause, Plan, QueryError, parse
from search.schema import day_number
from search.snapshot import Postings, Snapshot
from search.types import AccessFilter, Hit, SearchPage, SearchQuery

__all__ = ["access_query", "evaluate", "page", "plan_of"]

_K1, _B = 1.2, 0.75  # BM25, as Whoosh's default BM25F


def plan_of(q: SearchQuery) -> Plan | None:
    """The query's plan (None: no text, list everything); QueryError for a bad query."""
    if q.page < 1 or not 1 <= q.per_page <= 1000:
        raise QueryError("page must be at least 1 and per_page between 1 and 1000.")
    if q.sort not in ("relevance", "date"):
        raise QueryError('sort must be "relevance" or "date".')
    return parse(q.text)


def access_query(access: AccessFilter) -> wq.Query | None:
    """The caller's access as a Whoosh filter query; None when it allows nothing."""
    if access.everything:
        return wq.Every()
    clauses: list[wq.Query] = [wq.Term("department", d) for d in sorted(access.departments)]
    clauses += [wq.Term("customer_id", str(c)) for c in sorted(access.customers)]
    clauses += [
        wq.Term("cust_cat", f"{cid}/{cat}") for cid, cat in sorted(access.customer_categories)
    ]
    clauses += [wq.Term("id", str(d)) for d in sorted(access.documents)]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else wq.Or(clauses)


def _filter_queries(q: SearchQuery) -> list[wq.Query]:
    out: list[wq.Query] = []
    if q.customer_id is not None:
        out.append(wq.Term("customer_id", str(q.customer_id)))
    if q.category:
        out.append(wq.Term("category", q.category))
    if q.department:
        out.append(wq.Term("department", q.department))
    if q.status:
        out.append(wq.Term("status", q.status))
    return out


def page(snap: Snapshot, q: SearchQuery, plan: Plan | None, access: wq.Query) -> SearchPage:
    """The page ``q`` asks for, among the documents ``access`` allows."""
    # Filters first: every later step only looks at what they allow.
    masks = [snap.filter_mask(f) for f in [access, *_filter_queries(q)]]
    if q.date_from or q.date_to:
        low, high = day_number(q.date_from) or 0, day_number(q.date_to) or 99991231
        masks.append(snap.date_mask(low, high))
    matches = masks[0].copy()
    for other in masks[1:]:
        matches &= other
    scores: np.ndarray | None = None
    if plan is not None and matches.any():
        matches, scores = evaluate(snap, plan, matches)
        if not plan.groups:  # only "*" or exclusions: nothing to rank by
            scores = None
    end = q.page * q.per_page
    found = np.flatnonzero(matches)
    if scores is None or q.sort == "date":
        top = _top(found, snap.dates()[found], end)
    else:
        top = _top(found, scores[found], end)
    stored = snap.searcher.stored_fields
    hits = [
        Hit(id=int(stored(d)["id"]), score=0.0 if scores is None else float(scores[d]))
        for d in top[end - q.per_page :].tolist()
    ]
    return SearchPage(hits=hits, total=len(found))


def evaluate(snap: Snapshot, plan: Plan, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The allowed documents matching ``plan`` (a mask), and their scores."""
    matches = allowed.copy()
    found: dict[Clause, Postings] = {}
    # Plain terms first: they are cheap sets, and they narrow where phrases are checked.
    groups = sorted(
        plan.groups, key=lambda g: any(len(c.terms) > 1 and c.ordered for u in g for c in u)
    )
    for group in groups:
        docs = np.zeros(snap.doc_count_all, dtype=bool)
        for unit in group:
            for clause in unit:
                found[clause] = snap.clause_docs(clause, matches)
                docs[found[clause][0]] = True
        matches &= docs
        if not matches.any():
            return matches, np.zeros(snap.doc_count_all)
    for unit in plan.excluded:
        for clause in unit:
            matches[snap.clause_docs(clause, matches)[0]] = False
    scores = np.zeros(snap.doc_count_all)
    if matches.any():
        for clause, (docs_of, freqs) in found.items():
            _score(snap, clause, docs_of, freqs, matches, scores)
    return matches, scores


def _score(
    snap: Snapshot,
    clause: Clause,
    docs: np.ndarray,
    freqs: np.ndarray,
    matches: np.ndarray,
    scores: np.ndarray,
) -> None:
    """Add BM25 (Whoosh's BM25F: B=0.75, K1=1.2) for one clause to ``scores``."""
    if not len(docs):
        return
    idf = math.log(snap.doc_count / (len(docs) + 1)) + 1.0
    weight = clause.boost * max(idf, 0.1)
    lengths = snap.lengths(clause.field)
    total = snap.searcher.field_length(clause.field)
    avg = total / snap.doc_count if total else 0.0
    keep = matches[docs]
    d, tf = docs[keep], freqs[keep]
    # The same operations, in the same order, as the scalar formula: same floats.
    norm = (1 - _B) + _B * lengths[d] / avg if avg and lengths is not None else 1.0
    scores[d] += weight * tf * (_K1 + 1) / (tf + _K1 * norm)


def _top(docs: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` documents with the largest keys, largest first; ties by document number."""
    n = len(docs)
    if n > k:
        kth = np.partition(keys, n - k)[n - k]
        chosen = keys >= kth
        docs, keys = docs[chosen], keys[chosen]
    return docs[np.lexsort((docs, -keys))[:k]]
