"""The archive's settings as its use cases need them, derived from :class:`Settings`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from archive_service.archive import intake
from archive_service.archive.numbering import DEFAULT_PATTERN, NumberPattern
from archive_service.archive.retention import (
    RetentionRules,
    default_class_years,
    default_tier_minimum,
)
from archive_service.archive.vocabulary import RETENTION_CLASSES, TIERS
from archive_service.config import Settings
from archive_service.workdays import Calendar


@dataclass(frozen=True)
class ArchiveSettings:
    number_pattern: NumberPattern = NumberPattern(DEFAULT_PATTERN)
    fonds: str = "Q001"
    organisation: str = ""  # 立档单位名称; empty: the fonds code stands for it
    retention: RetentionRules = field(default_factory=RetentionRules)
    intake: intake.Limits = field(default_factory=intake.Limits)
    joint_review_tiers: frozenset[str] = frozenset({"core"})
    # The department whose head is the operations head (approval chains name it).
    operations_department: str = "OPS"
    # The working-day calendar filing deadlines count with (ARCHIVE_HOLIDAYS_FILE).
    calendar: Calendar = field(default_factory=Calendar.load)

    @property
    def max_upload_bytes(self) -> int:
        return self.intake.max_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveSettings:
        """Read the retention classes and tiers from the settings; a variable that names no
        class or tier is refused at start-up rather than ignored."""
        joint = frozenset(t.strip() for t in settings.joint_review_tiers.split(",") if t.strip())
        if joint - set(TIERS.codes):
            raise ValueError(f"ARCHIVE_JOINT_REVIEW_TIERS names no tier: {sorted(joint)}")
        return cls(
            number_pattern=NumberPattern(settings.number_pattern),
            fonds=settings.fonds,
            organisation=settings.organisation.strip(),
            retention=retention_rules(settings),
            intake=intake.Limits(max_bytes=settings.max_upload_mb * 1024 * 1024),
            joint_review_tiers=joint,
            operations_department=settings.operations_department,
            calendar=Calendar.load(settings.holidays_file or None),
        )


# A retention code as archive numbers and exports carry it (``Y``, ``D30``, ``D5``).
CODE_RE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")


def retention_rules(settings: Settings) -> RetentionRules:
    """The years, codes and authorities of the retention classes and the tier minimums in
    force; raises ValueError for a setting that names no class or tier or breaks a rule."""
    by_class: dict[str, dict[str, Any]] = {
        "YEARS": settings.retention_years,
        "CODE": settings.retention_codes,
        "AUTHORITY": settings.retention_authorities,
    }
    for kind, named in by_class.items():
        unknown = sorted(set(named) - set(RETENTION_CLASSES.codes))
        if unknown:
            raise ValueError(
                f"ARCHIVE_RETENTION_<CLASS>_{kind} names no retention class: {unknown}"
            )
    if settings.retention_years.get("permanent") is not None:
        raise ValueError("the permanent retention class has no years")
    bad = sorted(c for c in settings.retention_codes.values() if not CODE_RE.match(c))
    if bad:
        raise ValueError(
            f"ARCHIVE_RETENTION_<CLASS>_CODE must be 1-10 capital letters or digits: {bad}"
        )
    unknown = sorted(set(settings.tier_minimum_years) - set(TIERS.codes))
    if unknown:
        raise ValueError(f"ARCHIVE_TIER_MINIMUM_<TIER> names no tier: {unknown}")
    rules = RetentionRules(
        class_years={**default_class_years(), **settings.retention_years},
        tier_minimum={**default_tier_minimum(), **settings.tier_minimum_years},
        release_minimum_years=settings.hold_release_years,
        class_codes=dict(settings.retention_codes),
        authorities=dict(settings.retention_authorities),
    )
    codes = list(rules.codes().values())
    if len(set(codes)) != len(codes):
        # Two classes with one code could not be told apart in a number or an export.
        raise ValueError(f"two retention classes share a code: {sorted(codes)}")
    return rules
