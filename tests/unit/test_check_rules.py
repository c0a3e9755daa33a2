"""The check rules (archive_service/checks/rules.py): each item passes and fails on the
facts it reads; what does not apply to a file's family passes as "not applicable"."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from archive_service.checks import rules
from archive_service.checks.vocabulary import CHECK_GROUPS, CHECK_ITEMS
from search.fileprobe import IMAGE, OLE, OOXML, OTHER, PDF, Probe, Signature

CLEAN_PDF = Probe(
    family=PDF,
    parsed=True,
    pages=2,
    encrypted=False,
    signatures=(),
    fonts_missing=(),
    javascript=False,
    launch=False,
    attachments=0,
    executables=(),
)
FACTS = rules.Facts(
    stored_digest="ab" * 32,
    digest="ab" * 32,
    read_error=None,
    declared_type="application/pdf",
    sniffed_type="application/pdf",
    sniff_error=None,
    allowed=True,
    missing_metadata=(),
    probe=CLEAN_PDF,
    extraction="done",
    has_text=True,
    series_gaps=(),
)


def _result(code: str, facts: rules.Facts) -> rules.Result:
    return rules.RULES[code](facts)


def test_a_clean_pdf_passes_every_item() -> None:
    assert all(r.passed for r in rules.evaluate(FACTS))


FAILING: list[tuple[str, dict[str, Any]]] = [
    ("digest", {"digest": "cd" * 32}),
    ("digest", {"digest": None, "read_error": "IntegrityError"}),
    ("type", {"sniffed_type": "image/png"}),
    ("type", {"sniffed_type": None, "sniff_error": "the content is image/png"}),
    ("signatures", {"probe": replace(CLEAN_PDF, signatures=(Signature("S", False, True, True),))}),
    ("metadata", {"missing_metadata": ("contract_number",)}),
    ("whole", {"probe": replace(CLEAN_PDF, parsed=False, parse_error="xref broken")}),
    ("whole", {"probe": Probe(family=PDF, error="the examination took longer than 60 s")}),
    ("series", {"series_gaps": ("K001202402",)}),
    ("readable", {"extraction": "failed", "extraction_error": "timeout"}),
    ("readable", {"has_text": False}),
    ("readable", {"extraction": "pending"}),
    ("not_encrypted", {"probe": replace(CLEAN_PDF, encrypted=True)}),
    ("fonts", {"probe": replace(CLEAN_PDF, fonts_missing=("SimSun",))}),
    ("macros", {"probe": Probe(family=OOXML, parsed=True, encrypted=False, macros=True)}),
    ("macros", {"probe": Probe(family=OLE, parsed=True, encrypted=True, macros=False)}),
    ("executables", {"probe": replace(CLEAN_PDF, executables=("setup.exe",))}),
    ("active_content", {"probe": replace(CLEAN_PDF, javascript=True)}),
    ("active_content", {"probe": replace(CLEAN_PDF, launch=True)}),
    ("attachments", {"probe": replace(CLEAN_PDF, attachments=1)}),
    ("allowed_type", {"allowed": False}),
]


@pytest.mark.parametrize(("code", "changes"), FAILING)
def test_each_item_fails_on_its_finding(code: str, changes: dict[str, Any]) -> None:
    result = _result(code, replace(FACTS, **changes))
    assert not result.passed and result.detail


def test_every_item_has_a_failing_case() -> None:
    assert {code for code, _ in FAILING} == set(CHECK_ITEMS.codes)


@pytest.mark.parametrize("family", [OTHER, IMAGE])
def test_what_does_not_apply_passes_as_not_applicable(family: str) -> None:
    facts = replace(FACTS, probe=Probe(family=family, parsed=True), series_gaps=None)
    shown = {r.code: r for r in rules.evaluate(facts)}
    for code in ("signatures", "not_encrypted", "fonts", "macros", "active_content", "series"):
        assert shown[code].passed and shown[code].detail == "not applicable", code


def test_a_signed_pdf_passes_when_every_signature_holds() -> None:
    signed = replace(CLEAN_PDF, signatures=(Signature("S", True, True, False),))
    result = _result("signatures", replace(FACTS, probe=signed))
    assert result.passed and "1 found, all valid" in result.detail


def test_only_mandatory_failures_block_and_groups_follow_them() -> None:
    results = [
        r.as_dict()
        for r in rules.evaluate(
            replace(FACTS, has_text=False, probe=replace(CLEAN_PDF, javascript=True))
        )
    ]
    assert rules.blocking(results) == ["active_content"]  # "readable" is advisory
    grouped = rules.grouped(results)
    assert list(grouped) == list(CHECK_GROUPS.codes)
    assert grouped["usability"]["passed"] and not grouped["security"]["passed"]
