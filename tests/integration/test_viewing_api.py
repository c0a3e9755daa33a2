"""Supervised viewing through the API: external accounts, applications with a legal basis,
sessions opened and ended by the named supervisor, watermarked pages only, and the record."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from archive_service.accounts import users as accounts
from archive_service.errors import InvalidInput
from archive_service.policy import Caller
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import PASSWORD, People, bearer, token_for

NOW = datetime.now(UTC)


def _pdf_pages(*texts: str) -> bytes:
    """A PDF with one page per text (pages joined by re-using the one-page sample)."""
    from pypdfium2 import PdfDocument

    out = PdfDocument.new()
    for text in texts:
        src = PdfDocument(samples.pdf(text))
        out.import_pages(src)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


@pytest.fixture
def org(client: Any, people: People) -> dict[str, Any]:
    people.department("OPS", "运营部")
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    people.user("leo", "leader", department="OPS")
    people.user("sven", "supervisor", department="OPS")
    people.user("sara", "supervisor", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    people.user("reg", "regulator", department=None)
    with people.rt.db.unit_of_work() as s:
        reg = accounts.user_by_username(s, "reg")
        assert reg is not None
        reg.organisation, reg.display_name = "上海市人民检察院", "王检察官"
    h = {
        n: bearer(token_for(client, n))
        for n in ("clara", "arch", "leo", "sven", "sara", "audrey", "reg")
    }
    cid = client.post(
        "/api/v1/customers",
        headers=h["clara"],
        json={"name": "华夏贸易", "customer_type": "enterprise", "department": "SALES"},
    ).get_json()["id"]
    docs = {}
    for name, data in (
        ("contract", _pdf_pages("page one", "page two", "page three")),
        ("other", samples.pdf("other")),
    ):
        d = client.post(
            "/api/v1/documents",
            headers=h["clara"],
            content_type="multipart/form-data",
            data={
                "customer_id": str(cid),
                "category": "basic.profile",
                "title": name,
                "retention_class": "short",
                "file": (io.BytesIO(data), f"{name}.pdf"),
            },
        ).get_json()
        client.post(f"/api/v1/documents/{d['id']}/accept", headers=h["arch"])
        docs[name] = d["id"]
    return {"h": h, "docs": docs, "customer": cid}


def _numbers(client: Any, h: Any, docs: list[int]) -> list[str]:
    """The archive numbers an external body is given (in its letter): ids are not theirs."""
    return [
        client.get(f"/api/v1/documents/{d}", headers=h["clara"]).get_json()["archive_number"]
        for d in docs
    ]


def _apply(client: Any, h: Any, docs: list[int], hours: int = 24, mode: str = "view") -> Any:
    return client.post(
        "/api/v1/access-requests",
        headers=h["reg"],
        json={
            "purpose": "依法调取合同",
            "mode": mode,
            "numbers": _numbers(client, h, docs),
            "starts_at": (NOW - timedelta(minutes=1)).isoformat(),
            "ends_at": (NOW + timedelta(hours=hours)).isoformat(),
        },
    )


def _attach(client: Any, h: Any, request_id: int, who: str = "reg") -> Any:
    return client.post(
        f"/api/v1/access-requests/{request_id}/legal-basis",
        headers=h[who],
        content_type="multipart/form-data",
        data={"legal_basis": (io.BytesIO(samples.pdf("letter")), "协查函.pdf")},
    )


def _granted(client: Any, org: Any, hours: int = 24) -> int:
    h = org["h"]
    req = _apply(client, h, [org["docs"]["contract"]], hours).get_json()
    _attach(client, h, req["id"])
    done = client.post(
        f"/api/v1/access-requests/{req['id']}/decision",
        headers=h["leo"],
        json={"decision": "approve", "supervisor": "sven"},
    ).get_json()
    return int(done["grant_id"])


def test_external_application_needs_legal_basis_leader_and_supervisor(
    client: Any, org: Any
) -> None:
    h, contract = org["h"], org["docs"]["contract"]
    assert _apply(client, h, [contract], mode="download").status_code == 422
    req = _apply(client, h, [contract]).get_json()
    assert [s["role"] for s in req["approval_steps"]] == ["leader"]
    decide = f"/api/v1/access-requests/{req['id']}/decision"
    early = client.post(
        decide, headers=h["leo"], json={"decision": "approve", "supervisor": "sven"}
    )
    assert early.status_code == 409  # no legal basis yet
    assert _attach(client, h, req["id"], who="clara").status_code in (403, 404)
    assert _attach(client, h, req["id"]).status_code == 200
    letter = client.get(f"/api/v1/access-requests/{req['id']}/legal-basis", headers=h["leo"])
    assert letter.status_code == 200 and letter.data == samples.pdf("letter")
    assert client.post(decide, headers=h["leo"], json={"decision": "approve"}).status_code == 422
    not_sup = client.post(
        decide, headers=h["leo"], json={"decision": "approve", "supervisor": "clara"}
    )
    assert not_sup.status_code == 422 and not_sup.get_json()["error"]["field"] == "supervisor"
    assert (
        client.post(
            decide, headers=h["sven"], json={"decision": "approve", "supervisor": "sven"}
        ).status_code
        == 403
    )
    ok = client.post(decide, headers=h["leo"], json={"decision": "approve", "supervisor": "sven"})
    assert ok.status_code == 200 and ok.get_json()["supervisor"] == "sven"


def test_session_pages_and_record(client: Any, org: Any, rt: Runtime) -> None:
    h, contract = org["h"], org["docs"]["contract"]
    grant_id = _granted(client, org)
    # Outside a session the viewer gets nothing through the ordinary routes.
    for url in (
        f"/api/v1/documents/{contract}",
        f"/api/v1/documents/{contract}/content",
        f"/api/v1/documents/{contract}/content?disposition=inline",
    ):
        resp = client.get(url, headers=h["reg"])
        assert resp.status_code == 403 and resp.get_json()["error"]["rule"] == "supervised-only"
    assert client.get("/api/v1/viewing-sessions/1/documents", headers=h["reg"]).status_code == 404
    # Only the named supervisor opens; only one session at a time.
    body = {"grant_id": grant_id}
    assert client.post("/api/v1/viewing-sessions", json=body, headers=h["sara"]).status_code == 403
    assert client.post("/api/v1/viewing-sessions", json=body, headers=h["reg"]).status_code == 403
    opened = client.post("/api/v1/viewing-sessions", json=body, headers=h["sven"])
    assert opened.status_code == 201
    vs = opened.get_json()
    assert vs["open"] and vs["supervisor"] == "sven" and vs["regulator"] == "reg"
    ends = datetime.fromisoformat(vs["ends_at"])
    assert (
        timedelta(minutes=119)
        < ends - datetime.fromisoformat(vs["opened_at"])
        <= timedelta(minutes=120)
    )
    assert client.post("/api/v1/viewing-sessions", json=body, headers=h["sven"]).status_code == 409
    base = f"/api/v1/viewing-sessions/{vs['id']}"
    listed = client.get(f"{base}/documents", headers=h["reg"]).get_json()
    assert [d["id"] for d in listed["items"]] == [contract]
    assert client.get(f"{base}/documents", headers=h["sven"]).status_code == 403
    assert client.get(f"{base}/documents/{contract}", headers=h["reg"]).get_json()["pages"] == 3
    pages = []
    for n in (1, 2, 3):
        resp = client.get(f"{base}/documents/{contract}/pages/{n}", headers=h["reg"])
        assert resp.status_code == 200 and resp.mimetype == "image/png"
        assert resp.data.startswith(b"\x89PNG") and b"%PDF" not in resp.data
        assert "no-store" in resp.headers["Cache-Control"]
        pages.append(resp.data)
    assert len(set(pages)) == 3
    assert client.get(f"{base}/documents/{contract}/pages/4", headers=h["reg"]).status_code == 404
    other = org["docs"]["other"]
    assert client.get(f"{base}/documents/{other}/pages/1", headers=h["reg"]).status_code == 404
    # Still nothing through the ordinary routes during the session.
    assert client.get(f"/api/v1/documents/{contract}/content", headers=h["reg"]).status_code == 403
    # The register names the session, the page and both people.
    register = client.get(
        f"/api/v1/access-register?document_id={contract}", headers=h["audrey"]
    ).get_json()["items"]
    seen = [(r["user"], r["page"], r["session"], r["supervisor"]) for r in register if r["session"]]
    assert sorted(seen) == [("reg", n, f"S{vs['id']}", "sven") for n in (1, 2, 3)]
    csv = client.get("/api/v1/access-register?format=csv", headers=h["audrey"]).get_data(
        as_text=True
    )
    assert csv.splitlines()[0].endswith("session,page,supervisor")
    # The supervisor ends it: the next page is refused at once, files are wiped.
    folder = rt.temp_dir / "viewing" / f"s{vs['id']}"
    assert folder.exists()
    assert client.post(f"{base}/close", headers=h["reg"]).status_code == 403
    closed = client.post(f"{base}/close", headers=h["sven"]).get_json()
    assert closed["end_reason"] == "closed" and closed["closed_by"] == "sven"
    refused = client.get(f"{base}/documents/{contract}/pages/1", headers=h["reg"])
    assert refused.status_code == 403 and refused.get_json()["error"]["rule"] == "session-ended"
    assert not folder.exists()
    assert client.post(f"{base}/close", headers=h["sven"]).status_code == 409
    events = client.get(f"/api/v1/audit?target=viewing_session:{vs['id']}", headers=h["audrey"])
    actions = [e["action"] for e in events.get_json()["items"]]
    assert sorted(actions) == ["viewing.end", "viewing.open"]


def test_a_session_runs_out_and_never_outlives_the_grant(client: Any, org: Any) -> None:
    h, contract = org["h"], org["docs"]["contract"]
    short = _granted(client, org, hours=1)
    vs = client.post(
        "/api/v1/viewing-sessions", json={"grant_id": short}, headers=h["sven"]
    ).get_json()
    assert datetime.fromisoformat(vs["ends_at"]) <= NOW + timedelta(hours=1)
    page = f"/api/v1/viewing-sessions/{vs['id']}/documents/{contract}/pages/1"
    assert client.get(page, headers=h["reg"]).status_code == 200
    with time_machine.travel(NOW + timedelta(hours=1, minutes=1), tick=False):
        fresh = bearer(token_for(client, "reg"))
        late = client.get(page, headers=fresh)
        assert late.status_code == 403 and late.get_json()["error"]["rule"] == "session-ended"
        got = client.get(
            f"/api/v1/viewing-sessions/{vs['id']}", headers=bearer(token_for(client, "sven"))
        ).get_json()
        assert got["end_reason"] == "expired" and not got["open"]


def test_a_session_ended_while_a_page_renders_keeps_the_page(
    client: Any, org: Any, rt: Runtime
) -> None:
    """Rendering runs outside the transaction; the page leaves only if the session is still
    open when it is registered."""
    from archive_service.errors import NotAllowed
    from archive_service.viewing import pages

    h, contract = org["h"], org["docs"]["contract"]
    grant_id = _granted(client, org)
    vs = client.post(
        "/api/v1/viewing-sessions", json={"grant_id": grant_id}, headers=h["sven"]
    ).get_json()
    with rt.db.unit_of_work() as s:
        reg = Caller.of(accounts.user_by_username(s, "reg"))
        source = pages.page_source(s, reg, rt.viewing, vs["id"], contract)
    png = pages.render_page(rt.viewing, source, 2)
    assert png.startswith(b"\x89PNG")
    # The supervisor ends the session while the page was being rendered.
    ended = client.post(f"/api/v1/viewing-sessions/{vs['id']}/close", headers=h["sven"])
    assert ended.status_code == 200
    with rt.db.unit_of_work() as s, pytest.raises(NotAllowed, match="ended"):
        reg = Caller.of(accounts.user_by_username(s, "reg"))
        pages.register_page(s, reg, source, 2)
    register = client.get(
        f"/api/v1/access-register?document_id={contract}", headers=h["audrey"]
    ).get_json()["items"]
    assert not [r for r in register if r["session"]]


def test_external_accounts_come_only_from_approved_applications(
    client: Any, org: Any, rt: Runtime, people: People
) -> None:
    people.user("root", "admin", department=None)
    people.user("head", "department_head", department="SALES")
    root = bearer(token_for(client, "root"))
    direct = client.post(
        "/api/v1/users",
        headers=root,
        json={
            "username": "court2",
            "password": PASSWORD,
            "display_name": "法官",
            "roles": ["regulator"],
        },
    )
    assert direct.status_code == 422
    promote = client.get("/api/v1/users", headers=root).get_json()["items"]
    clara_id = next(u["id"] for u in promote if u["username"] == "clara")
    assert (
        client.put(
            f"/api/v1/users/{clara_id}/roles", headers=root, json={"roles": ["clerk", "regulator"]}
        ).status_code
        == 422
    )
    op = Caller.cli()
    with rt.db.unit_of_work() as s, pytest.raises(InvalidInput):
        accounts.apply_for_account(
            s,
            op,
            username="court",
            password=PASSWORD,
            display_name="李法官",
            department=None,
            requested_roles=["regulator"],
            settings=rt.accounts,
        )
    with rt.db.unit_of_work() as s:
        applicant = accounts.apply_for_account(
            s,
            op,
            username="court",
            password=PASSWORD,
            display_name="李法官",
            department=None,
            requested_roles=["regulator"],
            settings=rt.accounts,
            organisation="某区人民法院",
            account_end_date=date.today() + timedelta(days=30),
        )
        assert applicant is not None
        applicant_id = applicant.id
    with rt.db.unit_of_work() as s:
        head = Caller.of(accounts.user_by_username(s, "head"))
        with pytest.raises(Exception, match="admin"):
            accounts.approve_application(s, head, applicant_id)
    with rt.db.unit_of_work() as s:
        admin = Caller.of(accounts.user_by_username(s, "root"))
        accounts.approve_application(s, admin, applicant_id)
        with pytest.raises(InvalidInput):
            accounts.activate(s, admin, applicant_id, ["regulator", "clerk"])
    with rt.db.unit_of_work() as s:
        admin = Caller.of(accounts.user_by_username(s, "root"))
        user = accounts.activate(s, admin, applicant_id, ["regulator"])
        assert user.organisation == "某区人民法院" and user.department_id is None
    assert (
        client.post(
            "/api/v1/auth/token", json={"username": "court", "password": PASSWORD}
        ).status_code
        == 201
    )
    # The account ends on its end date.
    with time_machine.travel(NOW + timedelta(days=32), tick=False):
        late = client.post("/api/v1/auth/token", json={"username": "court", "password": PASSWORD})
        assert late.status_code in (401, 403)


def _granted_in_browser(client: Any, org: Any, username: str = "reg", **scope: str) -> int:
    """An external application filed on the apply page (``numbers`` or ``customer``, with
    the legal basis), approved by the leader with sven as supervisor: its grant id."""
    from tests.integration.test_web_accounts import csrf, login

    browser = client.application.test_client()
    assert login(browser, username).status_code == 302
    today = date.today()
    filed = browser.post(
        "/access/apply",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf(browser, "/access/apply"),
            "purpose": "依法调取",
            "mode": "view",
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=3)).isoformat(),
            "legal_basis": (io.BytesIO(samples.pdf("letter")), "协查函.pdf"),
            **scope,
        },
    )
    assert filed.status_code == 302, filed.get_data(as_text=True)[-800:]
    who = bearer(token_for(client, username))
    req = client.get("/api/v1/access-requests", headers=who).get_json()["items"][0]
    done = client.post(
        f"/api/v1/access-requests/{req['id']}/decision",
        headers=org["h"]["leo"],
        json={"decision": "approve", "supervisor": "sven"},
    ).get_json()
    return int(done["grant_id"])


def test_outside_their_session_a_regulator_finds_nothing(
    client: Any, org: Any, people: People
) -> None:
    h, contract, other = org["h"], org["docs"]["contract"], org["docs"]["other"]
    numbers = dict(zip(("contract", "other"), _numbers(client, h, [contract, other]), strict=True))
    for_contract = _granted_in_browser(client, org, numbers=numbers["contract"])
    _granted_in_browser(client, org, numbers=numbers["other"])  # its own session, not open
    vs = client.post(
        "/api/v1/viewing-sessions", json={"grant_id": for_contract}, headers=h["sven"]
    ).get_json()
    base = f"/api/v1/viewing-sessions/{vs['id']}"
    # The session shows its own grant's documents: "other" belongs to another session.
    listed = client.get(f"{base}/documents", headers=h["reg"]).get_json()["items"]
    assert [d["id"] for d in listed] == [contract]
    assert client.get(f"{base}/documents/{other}/pages/1", headers=h["reg"]).status_code == 404
    assert client.get(f"{base}/documents/{contract}/pages/1", headers=h["reg"]).status_code == 200
    # Another external viewer finds no such session at all (not "not yours").
    people.user("reg2", "regulator", department=None)
    reg2 = bearer(token_for(client, "reg2"))
    for url in (
        base,
        f"{base}/documents",
        f"{base}/documents/{contract}",
        f"{base}/documents/{contract}/pages/1",
    ):
        resp = client.get(url, headers=reg2)
        assert resp.status_code == 404, (url, resp.get_json())
    # A whole archive granted: a document no session would show (not yet accepted) is not
    # there; an accepted one the grant covers is known to them, and refused with the reason.
    people.user("reg3", "regulator", department=None)
    _granted_in_browser(client, org, username="reg3", customer="华夏贸易")
    submitted = client.post(
        "/api/v1/documents",
        headers=h["clara"],
        content_type="multipart/form-data",
        data={
            "customer_id": str(org["customer"]),
            "category": "basic.profile",
            "title": "待审",
            "retention_class": "short",
            "file": (io.BytesIO(samples.pdf("pending")), "pending.pdf"),
        },
    ).get_json()["id"]
    reg3 = bearer(token_for(client, "reg3"))
    for url in (f"/api/v1/documents/{submitted}", f"/api/v1/documents/{submitted}/content"):
        assert client.get(url, headers=reg3).status_code == 404, url
    known = client.get(f"/api/v1/documents/{contract}", headers=reg3)
    assert known.status_code == 403 and known.get_json()["error"]["rule"] == "supervised-only"
