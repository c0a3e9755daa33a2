"""The search benchmark's corpus: synthetic documents built from real business vocabulary,
company names, contract and archive numbers, with some English, and the labelled queries
whose relevant documents are the ones their "needle" words were planted in."""

# ruff: noqa: S311 - seeded pseudo-random corpora, for reproducibility, not security
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from search_words import (  # noqa: E402
    BOOLEAN,
    CATEGORIES,
    CITIES,
    CONNECTORS,
    CORES,
    DEPARTMENTS,
    ENGLISH,
    NEEDLES,
    PAIRS,
    PHRASES,
    SUFFIXES,
    TRADES,
    TRADITIONAL,
    WORDS,
)

from search import IndexedDocument


@dataclass
class Labelled:
    query: str
    kind: str
    relevant: set[int] = field(default_factory=set)
    # Documents that must never be returned (they hold an excluded word).
    forbidden: set[int] = field(default_factory=set)


# Word frequencies follow Zipf's law, as in real text: a few words (合同, 客户) are in
# most documents, most words in a few percent of them.
_RANKED = random.Random(11).sample(WORDS, len(WORDS))
_CUM = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(_RANKED))))


def word(rng: random.Random, sink: set[str] | None = None) -> str:
    """A vocabulary word; ``sink`` records it (labels come from what was written)."""
    chosen = rng.choices(_RANKED, cum_weights=_CUM)[0]
    if sink is not None:
        sink.add(chosen)
    return chosen


def company(rng: random.Random) -> str:
    return rng.choice(CITIES) + rng.choice(CORES) + rng.choice(TRADES) + rng.choice(SUFFIXES)


def sentence(rng: random.Random, sink: set[str]) -> str:
    """One business-like clause, from templates or a run of vocabulary words."""
    pick = rng.random()
    if pick < 0.18:
        sink.add("合同")
        return (
            f"{company(rng)}与{company(rng)}签订{word(rng, sink)}合同，合同编号"
            f"HT-{rng.randint(2015, 2024)}-{rng.randint(1, 999):03d}，金额人民币"
            f"{rng.randint(1, 9_999_999):,}元"
        )
    if pick < 0.30:
        sink.add("部门")
        return (
            f"{word(rng, sink)}部门于{rng.randint(2015, 2024)}年{rng.randint(1, 12)}月"
            f"{rng.randint(1, 28)}日完成{word(rng, sink)}{word(rng, sink)}"
        )
    if pick < 0.36:
        return rng.choice(ENGLISH)
    n = rng.randint(3, 8)
    return "".join(word(rng, sink) for _ in range(n))


def body_text(rng: random.Random, target_chars: int, sink: set[str]) -> list[str]:
    parts: list[str] = []
    size = 0
    while size < target_chars:
        s = sentence(rng, sink) + rng.choice(CONNECTORS)
        parts.append(s)
        size += len(s)
    return parts


def archive_number(rng: random.Random, i: int) -> str:
    return f"K{rng.randint(1, 999):03d}{rng.randint(2015, 2024)}{i % 100:02d}{i:07d}"


def generate(n: int, seed: int = 7) -> tuple[list[IndexedDocument], list[Labelled]]:
    """``n`` documents (~2 KB of UTF-8 each) and the labelled queries planted in them."""
    rng = random.Random(seed)
    customers = [(cid, company(rng), rng.choice(DEPARTMENTS)) for cid in range(1, 2001)]
    bodies: list[list[str]] = []
    emitted: list[set[str]] = []  # the words written into each body
    docs_meta = []
    for i in range(1, n + 1):
        cid, cname, dept = rng.choice(customers)
        sink: set[str] = set()
        emitted.append(sink)
        bodies.append(body_text(rng, rng.randint(550, 800), sink))
        # Title and tags are searched too: their words count for the labels.
        title = f"{cname}{word(rng, sink)}{word(rng, sink)}"
        tags = tuple(rng.sample(WORDS, 2))
        sink.update(tags)
        docs_meta.append((i, cid, cname, dept, title, tags))

    labels: list[Labelled] = []

    def plant(doc_index: int, text: str, *words: str) -> None:
        emitted[doc_index].update(words)
        parts = bodies[doc_index]
        parts.insert(rng.randrange(len(parts) + 1), text + "。")

    def targets(k: int) -> list[int]:
        return rng.sample(range(n), k)

    for needle in NEEDLES:
        label = Labelled(needle, "one-word")
        for d in targets(rng.randint(4, 10)):
            plant(d, f"{word(rng, emitted[d])}{needle}{word(rng, emitted[d])}", needle)
            label.relevant.add(d + 1)
        labels.append(label)
    for a, b in PAIRS:
        for d in targets(rng.randint(4, 10)):
            e = emitted[d]
            plant(d, f"{word(rng, e)}{a}{word(rng, e)}，{b}{word(rng, e)}", a, b)
        for d in targets(20):  # the rarer second word alone (unless the first is there anyway)
            plant(d, f"{word(rng, emitted[d])}{b}", b)
    for a, b in PAIRS:
        # Relevant: every document the generator wrote both words into.
        both = {d + 1 for d in range(n) if a in emitted[d] and b in emitted[d]}
        labels.append(Labelled(f"{a} {b}", "two-word", both))
    for phrase in PHRASES:
        label = Labelled(f'"{phrase}"', "phrase")
        half = len(phrase) // 2
        for d in targets(rng.randint(4, 10)):
            plant(d, f"{word(rng, emitted[d])}{phrase}{word(rng, emitted[d])}")
            label.relevant.add(d + 1)
        for d in targets(20):  # decoys: both halves, apart
            e = emitted[d]
            decoy = f"{phrase[:half]}{word(rng, e)}，{word(rng, e)}{phrase[half:]}"
            plant(d, decoy)
            if phrase in decoy:  # the word between happened to complete the phrase
                label.relevant.add(d + 1)
        labels.append(label)
    for a, b, c in BOOLEAN:
        label = Labelled(f"{a} -{b} OR {c}", "and-not-or")
        for words in ((a,), (c,), (a, b), (c, b)):
            for d in targets(rng.randint(3, 6)):
                e = emitted[d]
                plant(d, "，".join(f"{word(rng, e)}{w}{word(rng, e)}" for w in words), *words)
        for d in range(n):
            e = emitted[d]
            if b in e:
                label.forbidden.add(d + 1)
            elif a in e or c in e:
                label.relevant.add(d + 1)
        labels.append(label)
    for simplified, traditional in TRADITIONAL.items():
        label = Labelled(traditional, "traditional")
        for k, d in enumerate(targets(rng.randint(4, 10))):
            # Half the documents are themselves in traditional script.
            plant(d, f"{word(rng, emitted[d])}{simplified if k % 2 else traditional}")
            label.relevant.add(d + 1)
        labels.append(label)

    start = date(2015, 1, 1)
    docs = []
    for idx, (i, cid, cname, dept, title, tags) in enumerate(docs_meta):
        numbers: tuple[str, ...] = (archive_number(rng, i),)
        if rng.random() < 0.05:
            numbers += (f"Q{rng.randint(1, 99):03d}-K·{rng.randint(2015, 2024)}-D30-{i:06d}",)
        docs.append(
            IndexedDocument(
                id=i,
                numbers=numbers,
                title=title,
                customer_id=cid,
                customer_name=cname,
                customer_code=f"9131{cid:06d}MA1FL8XQ{cid % 97:02d}",
                category=rng.choice(CATEGORIES),
                department=dept,
                status=rng.choice(["submitted", "accepted", "accepted", "returned"]),
                on_hold=rng.random() < 0.02,
                document_date=start + timedelta(days=rng.randint(0, 3650)),
                filing_date=start + timedelta(days=rng.randint(0, 3650)),
                tags=tags,
                identifiers=(f"HT-{rng.randint(2015, 2024)}-{i:06d}",),
                body="".join(bodies[idx]),
            )
        )
    return docs, labels
