"""One table per vocabulary: retention classes and their codes, settings read from it."""

from __future__ import annotations

import pytest

from archive_service.archive.numbering import NumberPattern
from archive_service.archive.settings import ArchiveSettings
from archive_service.archive.vocabulary import RETENTION_CLASSES, SCALES, TIERS, retention_code
from archive_service.config import Settings
from archive_service.errors import InvalidInput
from archive_service.vocabulary import Vocabulary, label_of, vocabulary

DAT13 = "{fonds}-{category}·{year}-{retention}-{seq:4}"


def test_the_rules_retention_classes_and_their_codes() -> None:
    """The classes the rules name, with their default years (the table may hold more)."""
    wanted = {
        "permanent": (None, "Y"),
        "long": (30, "D30"),
        "medium": (10, "D10"),
        "short": (5, "D5"),
    }
    for code, (years, number_code) in wanted.items():
        assert RETENTION_CLASSES[code].years == years
        assert retention_code(years) == number_code


def test_settings_for_every_class_and_tier_are_read_by_name() -> None:
    settings = Settings.from_env(
        {"ARCHIVE_RETENTION_LONG_YEARS": "25", "ARCHIVE_TIER_MINIMUM_POTENTIAL": "7"}
    )
    archive = ArchiveSettings.from_settings(settings)
    assert archive.retention.class_years["long"] == 25
    assert archive.retention.class_years["medium"] == 10
    assert archive.retention.tier_minimum["potential"] == 7
    # The retention code in numbers follows the years in force (it said D30 regardless).
    assert archive.retention.code("long") == "D25"
    number = NumberPattern(DAT13).render(
        {
            "fonds": "Q001",
            "category": "K",
            "year": 2026,
            "retention": archive.retention.code("long"),
        },
        1,
    )
    assert number == "Q001-K·2026-D25-0001"


def test_each_class_names_its_authority_and_a_set_code_or_authority_wins() -> None:
    """DA/T 13 codes by default; the company's own 5-year class may carry its own code; the
    rule a class comes from is named for every class, and a setting's words replace it."""
    defaults = ArchiveSettings.from_settings(Settings.from_env({})).retention
    assert defaults.codes() == {"permanent": "Y", "long": "D30", "medium": "D10", "short": "D5"}
    assert all(defaults.authority(c.code) is not None for c in RETENTION_CLASSES)
    assert "SAAC Order No. 10" in str(getattr(defaults.authority("long"), "english", ""))
    rules = ArchiveSettings.from_settings(
        Settings.from_env(
            {
                "ARCHIVE_RETENTION_SHORT_CODE": "C5",
                "ARCHIVE_RETENTION_SHORT_AUTHORITY": "《客户档案管理办法》第十二条",
            }
        )
    ).retention
    assert rules.code("short") == "C5" and rules.code("long") == "D30"
    assert rules.authority("short") == "《客户档案管理办法》第十二条"
    number = NumberPattern(DAT13).render(
        {"fonds": "Q001", "category": "K", "year": 2026, "retention": rules.code("short")}, 7
    )
    assert number == "Q001-K·2026-C5-0007"


@pytest.mark.parametrize(
    "env",
    [
        {"ARCHIVE_RETENTION_FOREVER_CODE": "F"},
        {"ARCHIVE_RETENTION_FOREVER_AUTHORITY": "a rule"},
        {"ARCHIVE_RETENTION_SHORT_CODE": "d5"},  # codes are capitals and digits
        {"ARCHIVE_RETENTION_SHORT_CODE": "D5-X"},  # a separator would break the pattern
        {"ARCHIVE_RETENTION_SHORT_CODE": "D10"},  # the medium class's code
        {"ARCHIVE_RETENTION_SHORT_YEARS": "10"},  # D10 twice: a code must tell them apart
        {"ARCHIVE_RETENTION_FOREVER_YEARS": "99"},
        {"ARCHIVE_RETENTION_PERMANENT_YEARS": "99"},
        {"ARCHIVE_TIER_MINIMUM_VIP": "20"},
        {"ARCHIVE_JOINT_REVIEW_TIERS": "core,vip"},
    ],
)
def test_a_setting_that_names_nothing_is_refused_at_start(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        ArchiveSettings.from_settings(Settings.from_env(env))


def test_a_vocabulary_checks_codes_and_names_the_field() -> None:
    assert TIERS.check("core", "tier") == "core"
    assert TIERS.check("", "tier", default="ordinary") == "ordinary"
    assert SCALES.check(None, "scale", optional=True) is None
    with pytest.raises(InvalidInput) as refused:
        TIERS.check("vip", "tier")
    assert refused.value.field == "tier"
    with pytest.raises(InvalidInput):
        RETENTION_CLASSES.check("", "retention_class")


def test_labels_are_namespaced_by_vocabulary() -> None:
    """The same English word in two vocabularies is two messages (two translations)."""
    scale, retention = label_of("scale", "medium"), label_of("retention class", "medium")
    assert scale is not None and retention is not None
    assert scale.english == retention.english and scale.context != retention.context
    assert label_of("tier", "vip") is None and label_of("no such vocabulary", "x") is None
    assert vocabulary("tier") is TIERS


def test_a_vocabulary_refuses_inconsistent_tables() -> None:
    from archive_service.vocabulary import Term, _t

    with pytest.raises(ValueError):
        Vocabulary("test dup", [Term("a", _t("test dup", "a")), Term("a", _t("test dup", "b"))])
    with pytest.raises(ValueError):
        Vocabulary("test ctx", [Term("a", _t("another", "a"))])
    with pytest.raises(ValueError):
        Vocabulary("tier", [])  # declared twice
