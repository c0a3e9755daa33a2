"""Retention arithmetic (保管期限), as pure functions.

The disposal date of a document is its trigger date (filing date, or a
contract's expiry where the category says so) plus the longer of its
retention class and its customer's tier minimum. A hold stops the clock:
while any hold is open there is no disposal date; after the last release the
document is kept at least ``release_minimum`` more years. An appraisal may
keep it longer still (``retain_until``). Permanent documents never get one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from archive_service.archive.vocabulary import RETENTION_CLASSES, TIERS, retention_code
from archive_service.vocabulary import Label

RELEASE_MINIMUM_YEARS = 5


def default_class_years() -> dict[str, int | None]:
    """Years of each retention class as the vocabulary states them (None: permanent)."""
    return {c.code: c.years for c in RETENTION_CLASSES}


def default_tier_minimum() -> dict[str, int]:
    return {t.code: t.minimum_years for t in TIERS}


def add_years(start: date, years: int) -> date:
    """``start`` plus whole years; 29 February becomes 28 February in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


@dataclass(frozen=True)
class RetentionInputs:
    """Everything the disposal date depends on; a change to any of them recomputes it."""

    trigger_date: date
    retention_class: str
    tier: str
    on_hold: bool = False
    hold_released_on: date | None = None
    retain_until: date | None = None
    # A transferred document whose copy here goes after the transfer (移交后销毁).
    transferred_on: date | None = None


@dataclass(frozen=True)
class RetentionRules:
    class_years: dict[str, int | None] = field(default_factory=default_class_years)
    tier_minimum: dict[str, int] = field(default_factory=default_tier_minimum)
    release_minimum_years: int = RELEASE_MINIMUM_YEARS
    # Set codes and authorities (ARCHIVE_RETENTION_<CLASS>_CODE / _AUTHORITY) by class.
    class_codes: dict[str, str] = field(default_factory=dict)
    authorities: dict[str, str] = field(default_factory=dict)

    def code(self, retention_class: str) -> str:
        """The class's code in archive numbers and exports: the one set for it, else from
        the years in force (``D25`` when the long class is set to 25 years)."""
        if retention_class not in self.class_years:
            raise ValueError(f"unknown retention class {retention_class!r}")
        return self.class_codes.get(retention_class) or retention_code(
            self.class_years[retention_class]
        )

    def codes(self) -> dict[str, str]:
        return {c: self.code(c) for c in self.class_years}

    def authority(self, retention_class: str) -> Label | str | None:
        """The rule the class comes from: the words set for it (shown as written), else the
        vocabulary's label (translated where it is shown)."""
        if retention_class not in self.class_years:
            raise ValueError(f"unknown retention class {retention_class!r}")
        term = RETENTION_CLASSES.get(retention_class)
        return self.authorities.get(retention_class) or (term.authority if term else None)

    def shortens(self, before: str, after: str) -> bool:
        """Would moving a document from class ``before`` to ``after`` keep it less long?"""
        old, new = self.class_years[before], self.class_years[after]
        return new is not None and (old is None or new < old)

    def years(self, retention_class: str, tier: str) -> int | None:
        """Effective retention in years (None: permanent)."""
        if retention_class not in self.class_years:
            raise ValueError(f"unknown retention class {retention_class!r}")
        if tier not in self.tier_minimum:
            raise ValueError(f"unknown tier {tier!r}")
        years = self.class_years[retention_class]
        if years is None:
            return None
        return max(years, self.tier_minimum[tier])

    def disposal_date(self, inp: RetentionInputs) -> date | None:
        """When the document may be destroyed; None while held or if permanent.

        A copy that goes after its transfer is due on the transfer's date, whatever its
        class (the receiving archive keeps the document now); a hold, the minimum after a
        release and an appraisal's retain-until date still keep it longer."""
        years = self.years(inp.retention_class, inp.tier)
        if inp.on_hold:
            return None
        if inp.transferred_on is not None:
            due = inp.transferred_on
        elif years is None:
            return None
        else:
            due = add_years(inp.trigger_date, years)
        if inp.hold_released_on is not None:
            due = max(due, add_years(inp.hold_released_on, self.release_minimum_years))
        if inp.retain_until is not None:
            due = max(due, inp.retain_until)
        return due
