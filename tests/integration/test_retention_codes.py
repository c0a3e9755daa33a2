"""A retention class carries its code and its authority: the code the settings give goes
into the archive number, and the document page and the API name the rule the class comes
from (in the reader's language for the shipped rules, as written for a set one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from archive_service.config import Settings
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import login

OWN_RULE = "《客户档案管理办法》第十二条"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings,
        number_pattern="{fonds}-{category}·{year}-{retention}-{seq:4}",
        retention_codes={"short": "C5"},
        retention_authorities={"short": OWN_RULE},
    )


def test_the_code_numbers_the_document_and_the_authority_is_shown(
    client: Any, people: People
) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    customer = people.customer("clara")
    short = people.document("clara", customer, samples.pdf("a"), accepted_by=("arch",))
    long = people.document(
        "clara", customer, samples.pdf("b"), retention_class="long", accepted_by=("arch",)
    )

    who = bearer(token_for(client, "clara"))
    got = client.get(f"/api/v1/documents/{short}", headers=who).get_json()
    year = date.today().year
    assert got["archive_number"] == f"Q001-K·{year}-C5-0001"
    assert got["retention"] == {"code": "C5", "authority": {"en": OWN_RULE, "zh": OWN_RULE}}
    kept = client.get(f"/api/v1/documents/{long}", headers=who).get_json()
    assert kept["archive_number"] == f"Q001-K·{year}-D30-0001"
    assert kept["retention"]["code"] == "D30"
    assert "SAAC Order No. 10" in kept["retention"]["authority"]["en"]
    assert "国家档案局令第10号" in kept["retention"]["authority"]["zh"]

    login(client, "clara")
    page = client.get(f"/documents/{long}", headers={"Accept-Language": "zh"})
    text = page.get_data(as_text=True)
    assert "(D30)" in text and "国家档案局令第10号" in text and "保管期限依据" in text
    own = client.get(f"/documents/{short}").get_data(as_text=True)
    assert "(C5)" in own and OWN_RULE in own
