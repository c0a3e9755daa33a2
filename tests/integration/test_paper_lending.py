"""Lending paper originals (借阅) end to end: a finance employee applies to borrow a
contract's paper original, the heads approve, the archivist hands it out (read in the
reading room); it is not back on its due day, so it is listed overdue and the borrower and
the archivists are told — once a day; it comes back late and is in place again. Every
hand-out and return is in the access register and the audit trail. Refusals (never lent,
not in place, no grant, another document's grant, a view grant, the wrong people) change
nothing; a stocktake does not expect what is lent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from archive_service.accounts.models import User
from archive_service.archive.models import AccessRecord
from archive_service.audit.models import AuditEvent
from archive_service.notifications.models import Notification
from archive_service.paper.lending import notify_overdue
from archive_service.paper.models import Loan, PaperItem
from archive_service.runtime import Runtime
from archive_service.workdays import ZONE
from tests.conftest import bearer, token_for
from tests.integration.test_access_api import apply, decide, org  # noqa: F401 - fixture
from tests.integration.test_web_accounts import csrf, login

NOW = datetime.now(UTC)


@pytest.fixture
def kept(client: Any, org: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """The contract's and the licence's paper originals, in a box."""
    h = org["h"]
    box = client.post(
        "/api/v1/paper/locations",
        json={"code": "B001", "name": "盒 001", "kind": "box"},
        headers=h["arch"],
    ).get_json()["id"]
    for name in ("contract", "licence"):
        put = client.put(
            f"/api/v1/documents/{org['docs'][name]}/paper",
            json={"location_id": box, "pages": 8},
            headers=h["arch"],
        )
        assert put.status_code == 200, put.get_json()
    return {**org, "box": box}


def granted(client: Any, org: dict[str, Any], name: str, mode: str = "paper", **extra: Any) -> int:  # noqa: F811
    """Fay (finance) applies for a document of sales; her head and the operations head approve."""
    h = org["h"]
    req = apply(client, h["fay"], mode=mode, numbers=[org["numbers"][name]], **extra)
    assert req.status_code == 201, req.get_json()
    decide(client, h["fred"], req.get_json()["id"])
    done = decide(client, h["olga"], req.get_json()["id"]).get_json()
    assert done["status"] == "approved", done
    return int(done["grant_id"])


def lend(client: Any, who: dict[str, str], document_id: int, grant_id: int, **extra: Any) -> Any:
    body = {"document_id": document_id, "grant_id": grant_id, **extra}
    return client.post("/api/v1/paper/loans", json=body, headers=who)


def _state(rt: Runtime, document_id: int) -> tuple[str, int | None]:
    with rt.db.session() as s:
        item = s.scalars(select(PaperItem).where(PaperItem.document_id == document_id)).one()
        return item.state, item.location_id


def _register(rt: Runtime, document_id: int) -> list[tuple[str, str, int | None]]:
    with rt.db.session() as s:
        rows = s.scalars(
            select(AccessRecord)
            .where(AccessRecord.document_id == document_id)
            .where(AccessRecord.action.in_(("lend", "return")))
            .order_by(AccessRecord.id)
        ).all()
        return [(r.action, r.username, r.grant_id) for r in rows]


def _overdue_notices(rt: Runtime) -> list[int]:
    with rt.db.session() as s:
        return sorted(
            s.scalars(
                select(Notification.recipient_id).where(Notification.kind == "paper_overdue")
            ).all()
        )


def test_a_finance_employee_borrows_a_contract_and_returns_it_late(
    app: Any, client: Any, rt: Runtime, kept: dict[str, Any]
) -> None:
    h, contract = kept["h"], kept["docs"]["contract"]
    ends = NOW + timedelta(days=3)
    grant = granted(client, kept, "contract", ends_at=ends.isoformat())
    # A paper grant shows the record (and the pages on screen), never the electronic file.
    assert client.get(f"/api/v1/documents/{contract}", headers=h["fay"]).status_code == 200
    assert client.get(f"/api/v1/documents/{contract}/content", headers=h["fay"]).status_code == 403

    out = lend(client, h["arch"], contract, grant, note="附件齐全")
    assert out.status_code == 201, out.get_json()
    loan = out.get_json()
    due = ends.astimezone(ZONE).date()
    assert loan["due_on"] == due.isoformat()  # the grant's last day, by default
    assert loan["place"] == "reading_room" and loan["borrower"] == "fay"
    assert loan["handed_out_by"] == "arch" and not loan["overdue"]
    assert _state(rt, contract) == ("lent", kept["box"])
    paper = client.get(f"/api/v1/documents/{contract}/paper", headers=h["arch"]).get_json()
    assert paper["state"] == "lent"
    assert _register(rt, contract) == [("lend", "fay", grant)]
    register = client.get(
        "/api/v1/access-register", query_string={"document_id": contract}, headers=h["arch"]
    ).get_json()
    assert [(r["action"], r["user"], r["purpose"]) for r in register["items"]][0] == (
        "lend",
        "fay",
        "年度对账核查",
    )
    # Not overdue yet: nobody is told.
    assert notify_overdue(rt.db) == 0
    assert client.get("/api/v1/paper/loans?overdue=1", headers=h["arch"]).get_json()["total"] == 0
    # The borrower sees her own loans; another employee sees none of them.
    assert client.get("/api/v1/paper/loans", headers=h["fay"]).get_json()["total"] == 1
    assert client.get("/api/v1/paper/loans", headers=h["sue"]).get_json()["total"] == 0

    # Two days after the due day it is still out: overdue, listed, and told once a day.
    late = datetime.combine(due + timedelta(days=2), datetime.min.time(), ZONE) + timedelta(hours=9)
    with time_machine.travel(late, tick=True):
        arch = bearer(token_for(client, "arch"))
        shown = app.test_client()
        assert login(shown, "arch").status_code == 302
        assert 'id="overdue-loans"' in shown.get("/").get_data(as_text=True)  # the dashboard
        listed = client.get("/api/v1/paper/loans?overdue=1", headers=arch).get_json()
        assert [(x["id"], x["overdue"], x["days_overdue"]) for x in listed["items"]] == [
            (loan["id"], True, 2)
        ]
        assert notify_overdue(rt.db) == 1
        assert notify_overdue(rt.db) == 0  # the same day: nobody is told again
    with rt.db.session() as s:
        fay = s.scalars(select(User.id).where(User.username.in_(("fay", "arch")))).all()
    assert _overdue_notices(rt) == sorted(fay)  # the borrower and the archivist
    with rt.db.session() as s:
        words = s.scalars(select(Notification).where(Notification.kind == "paper_overdue")).first()
        assert words is not None and words.archive_number == kept["numbers"]["contract"]
        assert words.words == {"date": due.isoformat()}  # no content, no personal details
    with time_machine.travel(late + timedelta(days=1), tick=True):
        assert notify_overdue(rt.db) == 1  # a new day, a new notice
        arch = bearer(token_for(client, "arch"))
        back = client.post(f"/api/v1/paper/loans/{loan['id']}/return", json={}, headers=arch)
        assert back.status_code == 200, back.get_json()
        assert back.get_json()["returned_by"] == "arch" and back.get_json()["days_overdue"] == 3
        assert not back.get_json()["overdue"]
        again = client.post(f"/api/v1/paper/loans/{loan['id']}/return", json={}, headers=arch)
        assert again.status_code == 409
        assert notify_overdue(rt.db) == 0
        assert client.get("/api/v1/paper/loans?overdue=1", headers=arch).get_json()["total"] == 0
    assert len(_overdue_notices(rt)) == 4
    # Back in place, where its record says it is kept.
    assert _state(rt, contract) == ("in_place", kept["box"])
    assert _register(rt, contract) == [("lend", "fay", grant), ("return", "fay", grant)]
    with rt.db.session() as s:
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "document", AuditEvent.target_id == str(contract))
            .where(AuditEvent.action.in_(("paper.lend", "paper.return", "paper.overdue_notice")))
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == [
        "paper.lend", "paper.overdue_notice", "paper.overdue_notice", "paper.return"
    ]  # fmt: skip


def test_refusals_change_nothing(client: Any, rt: Runtime, kept: dict[str, Any]) -> None:
    h, docs = kept["h"], kept["docs"]
    contract, licence, complaint = docs["contract"], docs["licence"], docs["complaint"]
    paper = granted(client, kept, "contract")
    view = granted(client, kept, "contract", mode="view")
    other = granted(client, kept, "licence")
    with rt.db.session() as s:
        before = s.scalar(select(func.count()).select_from(AccessRecord))

    def refused(
        who: str, doc: int, grant: int, code: int, field: str | None = None, **kw: Any
    ) -> None:
        got = lend(client, h[who], doc, grant, **kw)
        assert got.status_code == code, (who, doc, grant, kw, got.get_json())
        if field:
            assert got.get_json()["error"]["field"] == field, got.get_json()

    refused("arch", complaint, paper, 422, "document_id")  # no paper original recorded
    refused("arch", contract, view, 422, "grant_id")  # a view grant lends nothing
    refused("arch", contract, other, 422, "grant_id")  # the grant of another document
    refused("arch", contract, 999_999, 422, "grant_id")  # no grant at all
    refused("arch", contract, paper, 422, "place", place="taken_away")  # not allowed by it
    far = (date.today() + timedelta(days=30)).isoformat()
    refused("arch", contract, paper, 422, "due_on", due_on=far)  # after the grant ends
    refused("arch", contract, paper, 422, "due_on", due_on="2020-01-01")
    for who in ("fay", "fred", "olga", "clara", "audrey"):  # only archivists hand out
        refused(who, contract, paper, 403)
    # Returning what was never lent: no such loan; the document's button says it is not out.
    nothing = client.post("/api/v1/paper/loans/1/return", json={}, headers=h["arch"])
    assert nothing.status_code == 404
    with rt.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Loan)) == 0
        assert s.scalar(select(func.count()).select_from(AccessRecord)) == before
    assert _state(rt, contract) == ("in_place", kept["box"])

    # Lent once, it is not in place: a second hand-out (even on another good grant) is refused.
    ok = lend(client, h["arch"], contract, paper)
    assert ok.status_code == 201
    second = granted(client, kept, "contract", mode="download")
    refused("arch", contract, second, 409)
    # Only archivists take it back.
    loan = ok.get_json()["id"]
    for who in ("fay", "olga"):
        assert (
            client.post(f"/api/v1/paper/loans/{loan}/return", json={}, headers=h[who]).status_code
            == 403
        )
    # A view application cannot ask to take the original away; a paper one can.
    bad = apply(client, h["fay"], mode="view", numbers=[kept["numbers"]["licence"]], take_away=True)
    assert bad.status_code == 422 and "take_away" in str(bad.get_json())
    away = granted(client, kept, "licence", take_away=True)
    taken = lend(client, h["arch"], licence, away, place="taken_away")
    assert taken.status_code == 201 and taken.get_json()["place"] == "taken_away"
    with rt.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Loan)) == 2
    assert _register(rt, contract) == [("lend", "fay", paper)]


def test_a_stocktake_does_not_expect_what_is_lent(
    client: Any, rt: Runtime, kept: dict[str, Any]
) -> None:
    h, contract = kept["h"], kept["docs"]["contract"]
    assert lend(client, h["arch"], contract, granted(client, kept, "contract")).status_code == 201
    take = client.post(
        "/api/v1/paper/stocktakes", json={"location_id": kept["box"]}, headers=h["arch"]
    ).get_json()["id"]
    done = client.post(f"/api/v1/paper/stocktakes/{take}/finish", headers=h["arch"]).get_json()
    report = {x["archive_number"]: x["finding"] for x in done["report"]}
    # The licence is missing; the lent contract is not expected in the box.
    assert report == {kept["numbers"]["licence"]: "missing"}


def test_the_pages_of_a_loan(app: Any, client: Any, rt: Runtime, kept: dict[str, Any]) -> None:
    contract = kept["docs"]["contract"]
    grant = granted(client, kept, "contract")
    arch = app.test_client()
    assert login(arch, "arch").status_code == 302
    page = f"/documents/{contract}"
    shown = arch.get(page).get_data(as_text=True)
    assert 'id="lend-form"' in shown and f'value="{grant}"' in shown
    handed = arch.post(
        f"/paper/documents/{contract}/lend",
        data={"csrf_token": csrf(arch, page), "grant_id": str(grant), "place": "reading_room"},
    )
    assert handed.status_code == 302
    shown = arch.get(page).get_data(as_text=True)
    assert 'id="paper-loan"' in shown and 'id="return-form"' in shown and "阅览室" in shown
    assert _state(rt, contract)[0] == "lent"
    fay = app.test_client()
    assert login(fay, "fay").status_code == 302
    mine = fay.get("/access/mine").get_data(as_text=True)
    assert 'id="loans"' in mine and kept["numbers"]["contract"] in mine
    assert 'id="overdue"' in arch.get("/paper/").get_data(as_text=True)
    # The owning department sees the original is lent, not who borrowed it.
    clara = app.test_client()
    assert login(clara, "clara").status_code == 302
    theirs = clara.get(page).get_data(as_text=True)
    assert 'id="paper-state"' in theirs and 'id="paper-loan"' not in theirs
    # The borrower cannot take it back herself; the archivist does.
    refused = fay.post(
        f"/paper/documents/{contract}/return", data={"csrf_token": csrf(fay, "/access/mine")}
    )
    assert refused.status_code == 403 and _state(rt, contract)[0] == "lent"
    back = arch.post(f"/paper/documents/{contract}/return", data={"csrf_token": csrf(arch, page)})
    assert back.status_code == 302 and _state(rt, contract)[0] == "in_place"
    # Never lent (any more): the return button's post is refused, saying so.
    again = arch.post(
        f"/paper/documents/{contract}/return",
        data={"csrf_token": csrf(arch, page)},
        follow_redirects=True,
    )
    assert "未借出" in again.get_data(as_text=True)
    assert _register(rt, contract) == [("lend", "fay", grant), ("return", "fay", grant)]
