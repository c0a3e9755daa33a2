"""The archive's settings as its use cases need them, derived from :class:`Settings`."""

from __future__ import annotations

from dataclasses import dataclass, field

from archive_service.archive import intake
from archive_service.archive.numbering import DEFAULT_PATTERN, NumberPattern
from archive_service.archive.retention import (
    RetentionRules,
    default_class_years,
    default_tier_minimum,
)
from archive_service.archive.vocabulary import RETENTION_CLASSES, TIERS
from archive_service.config import Settings


@dataclass(frozen=True)
class ArchiveSettings:
    number_pattern: NumberPattern = NumberPattern(DEFAULT_PATTERN)
    fonds: str = "Q001"
    retention: RetentionRules = field(default_factory=RetentionRules)
    intake: intake.Limits = field(default_factory=intake.Limits)
    joint_review_tiers: frozenset[str] = frozenset({"core"})
    # The department whose head is the operations head (approval chains name it).
    operations_department: str = "OPS"

    @property
    def max_upload_bytes(self) -> int:
        return self.intake.max_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveSettings:
        """Read the years of every retention class and tier from the settings; a variable
        that names no class or tier is refused at start-up rather than ignored."""
        unknown = sorted(set(settings.retention_years) - set(RETENTION_CLASSES.codes))
        if unknown:
            raise ValueError(f"ARCHIVE_RETENTION_<CLASS>_YEARS names no retention class: {unknown}")
        if settings.retention_years.get("permanent") is not None:
            raise ValueError("the permanent retention class has no years")
        unknown = sorted(set(settings.tier_minimum_years) - set(TIERS.codes))
        if unknown:
            raise ValueError(f"ARCHIVE_TIER_MINIMUM_<TIER> names no tier: {unknown}")
        joint = frozenset(t.strip() for t in settings.joint_review_tiers.split(",") if t.strip())
        if joint - set(TIERS.codes):
            raise ValueError(f"ARCHIVE_JOINT_REVIEW_TIERS names no tier: {sorted(joint)}")
        years: dict[str, int | None] = {**default_class_years(), **settings.retention_years}
        return cls(
            number_pattern=NumberPattern(settings.number_pattern),
            fonds=settings.fonds,
            retention=RetentionRules(
                class_years=years,
                tier_minimum={**default_tier_minimum(), **settings.tier_minimum_years},
                release_minimum_years=settings.hold_release_years,
            ),
            intake=intake.Limits(max_bytes=settings.max_upload_mb * 1024 * 1024),
            joint_review_tiers=joint,
            operations_department=settings.operations_department,
        )
