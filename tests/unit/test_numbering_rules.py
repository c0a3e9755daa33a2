"""Archive number patterns: the default shape, DA/T 13 style, scopes, validation."""

from __future__ import annotations

import pytest

from archive_service.archive.numbering import DEFAULT_PATTERN, NumberPattern, PatternError

VALUES: dict[str, str | int] = {
    "category": "K",
    "customer": 1,
    "year": 2023,
    "retention": "D10",
    "fonds": "Q001",
    "department": "SALES",
}


def test_default_pattern_reproduces_the_rules_example() -> None:
    assert NumberPattern(DEFAULT_PATTERN).render(VALUES, 1) == "K001202301"
    assert NumberPattern(DEFAULT_PATTERN).render({**VALUES, "customer": 12}, 37) == "K012202337"


def test_sequence_widens_instead_of_wrapping() -> None:
    assert NumberPattern(DEFAULT_PATTERN).render(VALUES, 100) == "K0012023100"


def test_dat13_style_pattern() -> None:
    pattern = NumberPattern("{fonds}-{category}·{year}-{retention}-{seq:4}")
    assert pattern.render(VALUES, 7) == "Q001-K·2023-D10-0007"


def test_scope_is_every_value_but_the_sequence() -> None:
    p = NumberPattern(DEFAULT_PATTERN)
    assert p.scope(VALUES) == p.scope({**VALUES, "department": "OTHER"})  # not in the pattern
    assert p.scope(VALUES) != p.scope({**VALUES, "year": 2024})
    assert p.scope(VALUES) != p.scope({**VALUES, "customer": 2})
    assert p.scope(VALUES) != NumberPattern("{category}-{customer:3}-{year}-{seq:2}").scope(VALUES)


@pytest.mark.parametrize(
    "text", ["{category}{year}", "{seq}{seq}", "{category}{bogus}{seq}", "{category{seq}"]
)
def test_bad_patterns_are_refused(text: str) -> None:
    with pytest.raises(PatternError):
        NumberPattern(text)


def test_missing_value_is_refused() -> None:
    with pytest.raises(PatternError, match="customer"):
        NumberPattern(DEFAULT_PATTERN).render({"category": "K", "year": 2023}, 1)
