"""The anchor: the audit key, the stores that keep checkpoints, an optional time-stamping
authority — and reading them back into what verify compares the chain with."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from archive_service.audit.anchor_stores import AnchorStore, AnchorUnavailable
from archive_service.audit.checkpoints import (
    BadEntry,
    Checkpoint,
    Entry,
    Finding,
    check_sequence,
    parse_time,
)
from archive_service.audit.signing import AuditKey
from archive_service.audit.timestamps import TimestampAuthority, TimestampFailed

log = logging.getLogger(__name__)
# A stamp is asked for right after the checkpoint is dated: one much later (or earlier)
# stamps a checkpoint written at another time than it claims.
TIMESTAMP_SLACK = timedelta(minutes=10)


@dataclass
class Anchor:
    key: AuditKey
    stores: tuple[AnchorStore, ...]
    tsa: TimestampAuthority | None = None

    def read(self) -> AnchorReading:
        return read_anchor(self)


@dataclass(frozen=True)
class StoreState:
    name: str
    absent: bool = False  # never created (no folder, no file)
    unavailable: bool = False
    valid: int = 0  # checkpoints of an unbroken run from the first
    broken: bool = False


@dataclass
class AnchorReading:
    """The newest run of valid checkpoints across the stores, and what is wrong with them."""

    entries: list[Entry] = field(default_factory=list)
    stores: list[StoreState] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def checkpoints(self) -> list[Checkpoint]:
        return [e.checkpoint for e in self.entries]

    @property
    def newest(self) -> Checkpoint | None:
        return self.entries[-1].checkpoint if self.entries else None

    def digest_of(self, number: int) -> str | None:
        if 1 <= number <= len(self.entries):
            return self.entries[number - 1].checkpoint.digest
        return None

    def trail_findings(self, named: dict[int, str]) -> list[Finding]:
        """What the trail's own ``audit.checkpoint`` events (number → digest) say about the
        stores: each checkpoint the trail says was written must be in every store, as
        written."""
        if not named:
            return []
        newest_named = max(named)
        out: list[Finding] = []
        for state in self.stores:
            if state.unavailable or state.broken:
                continue  # already named
            if state.absent or state.valid == 0:
                out.append(
                    Finding(
                        "anchor_missing",
                        checkpoint=newest_named,
                        store=state.name,
                        detail=f"the trail records {newest_named} checkpoints",
                    )
                )
            elif state.valid < newest_named:
                out.append(
                    Finding(
                        "anchor_behind",
                        checkpoint=state.valid + 1,
                        store=state.name,
                        detail=f"holds {state.valid} of the {newest_named} "
                        "checkpoints the trail records",
                    )
                )
        for number, digest in sorted(named.items()):
            held = self.digest_of(number)
            if held is not None and held != digest:
                out.append(
                    Finding(
                        "checkpoint_sequence",
                        checkpoint=number,
                        detail="differs from the checkpoint the trail recorded",
                    )
                )
                break
        return out


def _parsed(lines: list[str]) -> list[Entry | BadEntry]:
    out: list[Entry | BadEntry] = []
    for line in lines:
        try:
            out.append(Entry.parse(line))
        except BadEntry as exc:
            out.append(exc)
    return out


def read_anchor(anchor: Anchor) -> AnchorReading:
    reading = AnchorReading()
    runs: dict[str, list[Entry]] = {}
    for store in anchor.stores:
        try:
            lines = store.read()
        except AnchorUnavailable as exc:
            reading.stores.append(StoreState(store.name, unavailable=True))
            reading.findings.append(Finding("anchor_missing", store=store.name, detail=str(exc)))
            continue
        if lines is None:
            reading.stores.append(StoreState(store.name, absent=True))
            continue
        valid, finding = check_sequence(_parsed(lines), anchor.key.verify, store.name)
        if finding is not None:
            reading.findings.append(finding)
        reading.stores.append(StoreState(store.name, valid=len(valid), broken=bool(finding)))
        runs[store.name] = valid
    if runs:
        best_name = max(runs, key=lambda name: len(runs[name]))
        reading.entries = runs[best_name]
        reading.findings.extend(_disagreements(runs, best_name))
    reading.findings.extend(_timestamp_findings(anchor, reading.entries))
    return reading


def _disagreements(runs: dict[str, list[Entry]], best_name: str) -> list[Finding]:
    """Two stores holding different checkpoints under one number: one was forged or
    rolled back and rewritten."""
    best = runs[best_name]
    out = []
    for name, run in runs.items():
        for mine, theirs in zip(run, best, strict=False):
            if mine.checkpoint != theirs.checkpoint:
                out.append(
                    Finding(
                        "checkpoint_sequence",
                        checkpoint=mine.checkpoint.number,
                        store=name,
                        detail=f"differs from {best_name}",
                    )
                )
                break
    return out


def _timestamp_findings(anchor: Anchor, entries: list[Entry]) -> list[Finding]:
    if anchor.tsa is None:
        return []  # nothing to check stamps against (their absence is no finding)
    for entry in entries:
        if entry.timestamp is None:
            continue
        cp = entry.checkpoint
        try:
            stamped = anchor.tsa.check(entry.timestamp, cp.canonical())
        except TimestampFailed as exc:
            return [Finding("timestamp_invalid", checkpoint=cp.number, detail=str(exc))]
        if abs(stamped - parse_time(cp.at)) > TIMESTAMP_SLACK:
            return [
                Finding(
                    "timestamp_invalid",
                    checkpoint=cp.number,
                    detail=f"stamped at {stamped.isoformat()}, dated {cp.at}",
                )
            ]
    return []
