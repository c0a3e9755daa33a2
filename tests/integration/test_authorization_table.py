"""The authorization table: every document read route × every role × each grant state.

Each row names who asks; each column a read path (API and web). The expected
answer is computed from the rules in one place below, so a route that skips
the policy, or a grant that reaches too far, shows up as a wrong cell. The
test also enumerates the app's read routes for a document, so a new one must
be added here before it can pass.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from tests import samples
from tests.conftest import PASSWORD, People, bearer, token_for
from tests.integration.test_web_accounts import login

# who -> (roles, department)
ROLES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "clerk_same": (("clerk",), "SALES"),
    "clerk_other": (("clerk",), "FIN"),
    "head_same": (("department_head",), "SALES"),
    "head_other": (("department_head",), "FIN"),
    "archivist": (("archivist",), "OPS"),
    "manager": (("manager",), "OPS"),
    "admin": (("admin",), None),
    "auditor": (("auditor",), "OPS"),
    "ops_head": (("operations_head",), "OPS"),
    "leader": (("leader",), "OPS"),
    "supervisor": (("supervisor",), "OPS"),
    "regulator": (("regulator",), None),
    # An external viewer whose application a leader approved: still nothing outside a session.
    "regulator_granted": (("regulator",), None),
}
# grant state -> requester in FIN
GRANT_STATES = (
    "none",
    "pending",
    "download",
    "view",
    "paper",  # borrowing the paper original: on screen as a view grant, never the file
    "expired",
    "revoked",
    "other_document",
    "other_category",
)

OWN = {"clerk_same", "head_same", "archivist", "manager"}
SEES_DOCUMENT = OWN | {"grant_download", "grant_view", "grant_paper"}
DOWNLOADS = OWN | {"grant_download"}
SEES_CUSTOMER = SEES_DOCUMENT | {"grant_other_document", "grant_other_category"}

# Every route that reads one document, and how each is checked here.
DOCUMENT_READ_ROUTES = {
    "/api/v1/documents/<int:document_id>": "api_meta",
    "/api/v1/documents/<int:document_id>/content": "api_download api_preview",
    "/api/v1/documents/<int:document_id>/history": "api_history",
    # The intake check report: whoever may see the document's metadata.
    "/api/v1/documents/<int:document_id>/checks": "api_checks",
    # The paper original's record (where it is kept): as the document's metadata.
    "/api/v1/documents/<int:document_id>/paper": "api_paper",
    "/documents/<int:document_id>": "web_page",
    "/documents/<int:document_id>/file": "web_download web_preview",
    # Page images: what a view-only reader gets instead of the file.
    "/api/v1/documents/<int:document_id>/pages": "api_pages",
    "/api/v1/documents/<int:document_id>/pages/<int:page>": "api_page",
    "/documents/<int:document_id>/view": "web_pages",
    "/documents/<int:document_id>/pages/<int:page>.png": "web_page_image",
    # Previews (a derived PDF, an unwatermarked thumbnail): as the file itself.
    "/api/v1/documents/<int:document_id>/preview": "api_rendition_pdf",
    "/api/v1/documents/<int:document_id>/thumbnail": "api_thumbnail",
    "/documents/<int:document_id>/preview": "web_rendition_pdf",
    "/documents/<int:document_id>/thumbnail.png": "web_thumbnail",
    # Supervised viewing: only the session's external viewer, only while it is open.
    "/api/v1/viewing-sessions/<int:session_id>/documents/<int:document_id>": "api_view_pages",
    "/api/v1/viewing-sessions/<int:session_id>/documents/<int:document_id>/pages/<int:page>": (
        "api_view_page"
    ),
    "/viewing/sessions/<int:session_id>/documents/<int:document_id>": "web_viewer",
    "/viewing/sessions/<int:session_id>/documents/<int:document_id>/pages/<int:page>.png": (
        "web_view_page"
    ),
}
VIEWING = {"api_view_pages", "api_view_page", "web_viewer", "web_view_page"}


def status(resp: Any) -> int:
    """The status, with the (possibly streamed) response closed as a server would."""
    resp.close()
    return int(resp.status_code)


ENDED = {"grant_expired", "grant_revoked"}  # they knew the document: told why, not hidden


CUSTOMER_READ_ROUTES = {
    "/api/v1/customers/<int:customer_id>": "api_customer",
    "/api/v1/customers/<int:customer_id>/history": "api_customer_history",
    "/customers/<int:customer_id>": "web_customer",
    # A customer's check list: archivists and auditors (checks.export), whatever they see.
    "/api/v1/customers/<int:customer_id>/checks": "api_check_list",
    "/customers/<int:customer_id>/checks": "web_check_list",
}
CHECK_LIST_READERS = {"archivist", "auditor"}


# They oversee every session (policy/access.OVERSEERS): told it is not theirs to page through.
OVERSEERS = {"archivist", "auditor", "ops_head"}


def expected(who: str, column: str) -> int:
    if column in VIEWING:
        # A session one takes no part in is answered as one that does not exist.
        return 200 if who == "regulator_granted" else 403 if who in OVERSEERS else 404
    if column in ("api_check_list", "web_check_list"):
        return 200 if who in CHECK_LIST_READERS else 403
    if who == "regulator_granted":
        # Known to them by their grant, refused with the reason; customers and lists stay shut.
        return (
            404
            if column.startswith(("api_list", "api_search", "api_customer", "web_customer"))
            else 403
        )
    if who in ENDED and not column.startswith(
        ("api_list", "api_search", "api_customer", "web_customer")
    ):
        return 403
    if column in (
        "api_meta",
        "api_history",
        "api_checks",
        "api_paper",
        "web_page",
        "api_pages",
        "api_page",
        "web_pages",
        "web_page_image",
        "api_list",
        "api_search",
    ):
        return 200 if who in SEES_DOCUMENT else 404
    # A preview is the original file too: view means view (pages above), never the bytes.
    if column in (
        "api_download",
        "web_download",
        "api_preview",
        "web_preview",
        "api_rendition_pdf",
        "api_thumbnail",
        "web_rendition_pdf",
        "web_thumbnail",
    ):
        if who in DOWNLOADS:
            return 200
        return 403 if who in ("grant_view", "grant_paper") else 404
    if column in ("api_customer", "api_customer_history", "web_customer"):
        return 200 if who in SEES_CUSTOMER else 404
    raise AssertionError(column)


def test_document_read_routes_are_all_in_the_table(app: Any) -> None:
    found = {
        r.rule
        for r in app.url_map.iter_rules()
        if "<int:document_id>" in r.rule and "GET" in (r.methods or ())
    }
    assert found == set(DOCUMENT_READ_ROUTES)
    customers = {
        r.rule
        for r in app.url_map.iter_rules()
        if "<int:customer_id>" in r.rule and "GET" in (r.methods or ())
    }
    assert customers == set(CUSTOMER_READ_ROUTES)


def test_every_role_and_grant_state_on_every_read_path(
    client: Any, people: People, app: Any
) -> None:
    people.department("FIN")
    people.department("OPS")
    for who, (roles, dept) in ROLES.items():
        people.user(who.replace("_", "-"), *roles, department=dept)
    people.user("fin-head", "department_head", department="FIN")
    people.user("ops", "operations_head", department="OPS")
    people.user("lead", "leader", department="OPS")
    people.user("sup", "supervisor", department="OPS")
    for state in GRANT_STATES:
        people.user(f"grant-{state.replace('_', '-')}", "requester", department="FIN")
    tok = {
        u: bearer(token_for(client, u))
        for u in ("clerk-same", "archivist", "fin-head", "ops", "lead")
    }
    cid = client.post(
        "/api/v1/customers",
        headers=tok["clerk-same"],
        json={"name": "华夏贸易", "customer_type": "enterprise", "department": "SALES"},
    ).get_json()["id"]

    def put(name: str, category: str) -> int:
        extra = {"facts.contract_number": "HT-9"} if category == "business.contract" else {}
        d = client.post(
            "/api/v1/documents",
            headers=tok["clerk-same"],
            content_type="multipart/form-data",
            data={
                "customer_id": str(cid),
                "category": category,
                "title": name,
                "retention_class": "short",
                **extra,
                "file": (io.BytesIO(samples.pdf(name)), f"{name}.pdf"),
            },
        ).get_json()
        client.post(f"/api/v1/documents/{d['id']}/accept", headers=tok["archivist"])
        return int(d["id"])

    target = put("target", "business.contract")
    other = put("other", "basic.profile")
    box = client.post(
        "/api/v1/paper/locations",
        headers=tok["archivist"],
        json={"code": "B1", "name": "盒 1", "kind": "box"},
    ).get_json()["id"]
    kept = client.put(
        f"/api/v1/documents/{target}/paper", headers=tok["archivist"], json={"location_id": box}
    )
    assert kept.status_code == 200, kept.get_json()
    # Applicants name documents they may not see by the archive numbers they were given.
    number = {
        d: client.get(f"/api/v1/documents/{d}", headers=tok["clerk-same"]).get_json()[
            "archive_number"
        ]
        for d in (target, other)
    }

    def grant(user: str, *, mode: str = "download", approve: bool = True, **scope: Any) -> int:
        now = datetime.now(UTC)
        body = {
            "purpose": "核对",
            "mode": mode,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            **scope,
        }
        req = client.post(
            "/api/v1/access-requests", json=body, headers=bearer(token_for(client, user))
        ).get_json()
        if approve:
            for approver in ("fin-head", "ops"):
                r = client.post(
                    f"/api/v1/access-requests/{req['id']}/decision",
                    json={"decision": "approve"},
                    headers=tok[approver],
                )
            return int(r.get_json()["grant_id"])
        return int(req["id"])

    grant("grant-pending", approve=False, numbers=[number[target]])
    grant("grant-download", numbers=[number[target]])
    grant("grant-view", mode="view", numbers=[number[target]])
    grant("grant-paper", mode="paper", numbers=[number[target]])
    with time_machine.travel(datetime.now(UTC) - timedelta(days=3)):
        grant("grant-expired", numbers=[number[target]])
    revoked = grant("grant-revoked", numbers=[number[target]])
    client.post(f"/api/v1/grants/{revoked}/revoke", json={"reason": "停止"}, headers=tok["ops"])
    grant("grant-other-document", numbers=[number[other]])
    grant("grant-other-category", customer="华夏贸易", categories=["basic.profile"])
    external = external_grant(client, "regulator-granted", [number[target]], tok["lead"], "sup")
    opened = client.post(
        "/api/v1/viewing-sessions",
        json={"grant_id": external},
        headers=bearer(token_for(client, "sup")),
    )
    assert opened.status_code == 201, opened.get_json()
    sid = opened.get_json()["id"]
    view = f"/viewing-sessions/{sid}/documents/{target}"

    askers = list(ROLES) + [f"grant_{s}" for s in GRANT_STATES]
    wrong = []
    for who in askers:
        username = who.replace("_", "-")
        api = bearer(token_for(client, username))
        purpose = "?purpose=抽查" if who == "manager" else ""
        sep = "&" if purpose else "?"
        answers = {
            "api_meta": status(client.get(f"/api/v1/documents/{target}", headers=api)),
            "api_download": status(
                client.get(f"/api/v1/documents/{target}/content{purpose}", headers=api)
            ),
            "api_preview": status(
                client.get(
                    f"/api/v1/documents/{target}/content{purpose}{sep}disposition=inline",
                    headers=api,
                )
            ),
            "api_customer": status(client.get(f"/api/v1/customers/{cid}", headers=api)),
            "api_customer_history": status(
                client.get(f"/api/v1/customers/{cid}/history", headers=api)
            ),
            "api_history": status(client.get(f"/api/v1/documents/{target}/history", headers=api)),
            "api_checks": status(client.get(f"/api/v1/documents/{target}/checks", headers=api)),
            "api_check_list": status(client.get(f"/api/v1/customers/{cid}/checks", headers=api)),
        }
        listed = client.get("/api/v1/documents", headers=api).get_json()
        answers["api_list"] = 200 if target in [d["id"] for d in listed["items"]] else 404
        found = client.get("/api/v1/documents?q=target", headers=api)
        assert found.status_code in (200, 403), (who, found.get_json())
        hits = found.get_json().get("items", []) if found.status_code == 200 else []
        answers["api_search"] = 200 if target in [d["id"] for d in hits] else 404
        browser = app.test_client()
        signed = login(browser, username, PASSWORD)
        assert signed.status_code == 302, (username, signed.get_data(as_text=True)[-600:])
        answers["web_page"] = status(browser.get(f"/documents/{target}"))
        answers["web_customer"] = status(browser.get(f"/customers/{cid}"))
        answers["web_check_list"] = status(browser.get(f"/customers/{cid}/checks"))
        answers["web_download"] = status(browser.get(f"/documents/{target}/file{purpose}"))
        answers["web_preview"] = status(
            browser.get(f"/documents/{target}/file{purpose}{sep}inline=1")
        )
        for route in ("preview", "thumbnail"):
            column = "rendition_pdf" if route == "preview" else route
            answers[f"api_{column}"] = status(
                client.get(f"/api/v1/documents/{target}/{route}{purpose}", headers=api)
            )
        answers["web_rendition_pdf"] = status(browser.get(f"/documents/{target}/preview{purpose}"))
        answers["web_thumbnail"] = status(
            browser.get(f"/documents/{target}/thumbnail.png{purpose}")
        )
        answers["api_pages"] = status(
            client.get(f"/api/v1/documents/{target}/pages{purpose}", headers=api)
        )
        api_image = client.get(f"/api/v1/documents/{target}/pages/1{purpose}", headers=api)
        answers["api_page"] = status(api_image)
        answers["web_pages"] = status(browser.get(f"/documents/{target}/view{purpose}"))
        web_image = browser.get(f"/documents/{target}/pages/1.png{purpose}")
        answers["web_page_image"] = status(web_image)
        answers["api_view_pages"] = status(client.get(f"/api/v1{view}", headers=api))
        page = client.get(f"/api/v1{view}/pages/1", headers=api)
        answers["api_view_page"] = status(page)
        answers["web_viewer"] = status(browser.get(f"/viewing/sessions/{sid}/documents/{target}"))
        web_page = browser.get(f"/viewing/sessions/{sid}/documents/{target}/pages/1.png")
        answers["web_view_page"] = status(web_page)
        for shown in (page, web_page, api_image, web_image):
            if shown.status_code == 200:  # pixels only, never the original file
                assert shown.mimetype == "image/png" and b"%PDF" not in shown.data
                assert "no-store" in shown.headers["Cache-Control"]
        for column, got in answers.items():
            if got != expected(who, column):
                wrong.append(f"{who} {column}: got {got}, expected {expected(who, column)}")
    assert wrong == [], "\n".join(wrong)


def external_grant(
    client: Any, username: str, numbers: list[str], leader: dict[str, str], supervisor: str
) -> int:
    """An external viewer's application with its legal basis, approved by a leader."""
    now = datetime.now(UTC)
    who = bearer(token_for(client, username))
    req = client.post(
        "/api/v1/access-requests",
        headers=who,
        json={
            "purpose": "监管检查",
            "mode": "view",
            "numbers": numbers,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
    ).get_json()
    attached = client.post(
        f"/api/v1/access-requests/{req['id']}/legal-basis",
        headers=who,
        content_type="multipart/form-data",
        data={"legal_basis": (io.BytesIO(samples.pdf("letter")), "协查函.pdf")},
    )
    assert attached.status_code == 200, attached.get_json()
    decided = client.post(
        f"/api/v1/access-requests/{req['id']}/decision",
        json={"decision": "approve", "supervisor": supervisor},
        headers=leader,
    ).get_json()
    return int(decided["grant_id"])
