"""Fonds (全宗) for groups: each legal entity's fonds numbers its customers' documents in a
series of its own under the DA/T 13 pattern; a single-company install numbers with the
default fonds and never sees one; bad input and strangers change nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from archive_service.archive.models import Fonds
from archive_service.cli import main
from archive_service.config import Settings
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import login

DAT13 = "{fonds}-{category}·{year}-{retention}-{seq:4}"
YEAR = date.today().year


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, number_pattern=DAT13, fonds="Q001")


def _number(client: Any, who: dict[str, str], doc: int) -> str:
    return str(client.get(f"/api/v1/documents/{doc}", headers=who).get_json()["archive_number"])


def test_each_fonds_numbers_its_own_series(client: Any, people: People, rt: Runtime) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    people.user("root", "admin", department=None)
    root, clara = bearer(token_for(client, "root")), bearer(token_for(client, "clara"))
    assert client.get("/api/v1/fonds", headers=clara).get_json() == {"items": [], "default": "Q001"}

    assert (
        client.post(
            "/api/v1/fonds", json={"code": "Q002", "name": "华东子公司"}, headers=clara
        ).status_code
        == 403
    )
    bad = client.post("/api/v1/fonds", json={"code": "q-2", "name": "x"}, headers=root)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "code"
    made = client.post("/api/v1/fonds", json={"code": "Q002", "name": "华东子公司"}, headers=root)
    assert made.status_code == 201, made.get_json()
    assert (
        client.post(
            "/api/v1/fonds", json={"code": "Q002", "name": "again"}, headers=root
        ).status_code
        == 409
    )

    body = {"name": "华东客户", "customer_type": "enterprise", "department": "SALES"}
    unknown = client.post("/api/v1/customers", json={**body, "fonds": "Q009"}, headers=clara)
    assert unknown.status_code == 422 and unknown.get_json()["error"]["field"] == "fonds"
    east = client.post("/api/v1/customers", json={**body, "fonds": "Q002"}, headers=clara)
    assert east.status_code == 201 and east.get_json()["fonds"] == "Q002"
    home = people.customer("clara", name="总部客户", credit_code="X1")
    docs = [
        people.document("clara", cid, samples.pdf(str(n)), accepted_by=("arch",))
        for n, cid in enumerate((east.get_json()["id"], home, east.get_json()["id"]))
    ]
    assert [_number(client, clara, d) for d in docs] == [
        f"Q002-K·{YEAR}-D5-0001",
        f"Q001-K·{YEAR}-D5-0001",  # the default fonds counts on its own
        f"Q002-K·{YEAR}-D5-0002",
    ]
    login(client, "clara")
    page = client.get(f"/customers/{east.get_json()['id']}").get_data(as_text=True)
    assert "全宗" in page and "Q002 华东子公司" in page
    form = client.get("/customers/new").get_data(as_text=True)
    assert 'name="fonds"' in form and "Q001（默认）" in form


def test_a_single_company_never_sees_a_fonds(client: Any, people: People) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    cid = people.customer("clara")
    doc = people.document("clara", cid, samples.pdf("one"), accepted_by=("arch",))
    clara = bearer(token_for(client, "clara"))
    assert _number(client, clara, doc) == f"Q001-K·{YEAR}-D5-0001"
    login(client, "clara")
    assert 'name="fonds"' not in client.get("/customers/new").get_data(as_text=True)
    assert "全宗" not in client.get(f"/customers/{cid}").get_data(as_text=True)


def test_no_fonds_without_fonds_in_the_pattern(
    client: Any, people: People, rt: Runtime, settings: Settings, monkeypatch: Any
) -> None:
    """The command line adds and lists them; with the default pattern it refuses, since
    two fonds would number into one series."""
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARCHIVE_KEYRING_FILE", settings.keyring_file)
    monkeypatch.setenv("ARCHIVE_NUMBER_PATTERN", DAT13)
    runner = CliRunner()
    made = runner.invoke(main, ["fonds", "create", "Q003", "西南子公司"])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(main, ["fonds", "list"])
    assert "Q003\t西南子公司" in listed.output and "Q001" in listed.output
    monkeypatch.setenv("ARCHIVE_NUMBER_PATTERN", "{category}{customer:3}{year}{seq:2}")
    refused = runner.invoke(main, ["fonds", "create", "Q004", "x"])
    assert refused.exit_code != 0 and "{fonds}" in refused.output
    with rt.db.unit_of_work() as s:
        assert [f.code for f in s.query(Fonds)] == ["Q003"]
