"""Category facts: one check for upload, change requests and reclassification."""

from __future__ import annotations

import pytest

from archive_service.archive.facts import check_facts, check_specs, merge_facts
from archive_service.errors import InvalidInput

CONTRACT = [
    {"name": "contract_number", "type": "text", "required": True},
    {"name": "valid_until", "type": "date", "required": False},
]


def test_required_facts_present_dates_parsed_others_dropped() -> None:
    got = check_facts(CONTRACT, {"contract_number": " HT-1 ", "valid_until": "2030-01-31", "x": 1})
    assert got == {"contract_number": "HT-1", "valid_until": "2030-01-31"}


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({}, "contract_number"),
        ({"contract_number": "  "}, "contract_number"),
        ({"contract_number": "HT-1", "valid_until": "next month"}, "valid_until"),
        ({"contract_number": "HT-1", "valid_until": "2030-02-30"}, "valid_until"),
    ],
)
def test_refusals_name_the_fact(given: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_facts(CONTRACT, given, "business.contract")
    assert refused.value.field == field


def test_a_change_merges_checks_and_keeps_what_the_category_does_not_ask() -> None:
    before = {"contract_number": "HT-1", "old_fact": "kept"}
    assert merge_facts(CONTRACT, before, {"valid_until": "2031-03-31"}) == {
        "contract_number": "HT-1",
        "valid_until": "2031-03-31",
        "old_fact": "kept",
    }
    assert merge_facts(CONTRACT, {**before, "valid_until": "2031-03-31"}, {"valid_until": ""}) == {
        "contract_number": "HT-1",
        "old_fact": "kept",
    }
    with pytest.raises(InvalidInput):
        merge_facts(CONTRACT, before, {"contract_number": ""})
    with pytest.raises(InvalidInput):
        merge_facts(CONTRACT, {"title_fact": "x"})  # reclassified into contract, no number


def test_fact_specifications_an_admin_gives() -> None:
    assert check_specs([{"name": "court", "required": True}]) == [
        {"name": "court", "type": "text", "required": True, "label_zh": "court"}
    ]
    for bad in ([{"name": "Court"}], [{"name": "a", "type": "number"}], [{"name": "a"}] * 2, ["x"]):
        with pytest.raises(InvalidInput):
            check_specs(bad)  # type: ignore[arg-type]
