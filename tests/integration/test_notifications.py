"""Notifications end to end against real servers: an access application e-mails the
department head (a real SMTP server with STARTTLS and AUTH) and posts to the department's
WeCom and DingTalk robots (a local HTTP receiver checking payload and signature); the
decision tells the applicant; the bell counts; a refusing SMTP server is retried, then the
delivery fails where admins see it while the action stands; a private webhook is refused;
an unanswered step is reminded and escalated after working days (a fixed clock)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from archive_service.accounts import users
from archive_service.audit.models import AuditEvent
from archive_service.config import Settings
from archive_service.notifications import delivery
from archive_service.notifications.channels import Channels
from archive_service.notifications.delivery import Retry
from archive_service.notifications.models import Delivery, Notification
from archive_service.notifications.reminders import Plan, remind_waiting
from archive_service.notifications.vocabulary import DeliveryStatus
from archive_service.runtime import Runtime
from archive_service.workdays import Calendar
from tests import samples
from tests.conftest import OPERATOR, PASSWORD, People, bearer, token_for, unavailable
from tests.integration.notify_servers import SMTP_PASSWORD, SMTP_USER, RobotReceiver, SmtpServer

DING_SECRET = "SEC-test-signing-secret"
PURPOSE = "年度对账核查"
CUSTOMER = "华夏贸易有限公司"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        unavailable("aiosmtpd (pip install -e '.[test]')")
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def robots() -> Iterator[RobotReceiver]:
    receiver = RobotReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return replace(
        settings,
        smtp_host="localhost",
        smtp_port=smtp.port,
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
        smtp_from="archive@example.com",
        smtp_ca_file=str(smtp.cert),
        smtp_timeout_seconds=5,
        notify_allowed_hosts="127.0.0.1",  # the tests' robot receiver, explicitly
        notify_max_attempts=3,
        public_url="https://archive.example.com",
    )


def _person(rt: Runtime, people: People, name: str, *roles: str, department: str) -> None:
    people.department(department)
    with rt.db.unit_of_work() as s:
        users.create_user(
            s,
            OPERATOR,
            username=name,
            password=PASSWORD,
            display_name=name.title(),
            department=department,
            roles=roles,
            email=f"{name}@example.com",
            settings=rt.accounts,
        )


@pytest.fixture
def org(client: Any, rt: Runtime, people: People, robots: RobotReceiver) -> dict[str, Any]:
    people.department("OPS", "运营部")
    _person(rt, people, "clara", "clerk", department="SALES")
    _person(rt, people, "sam", "department_head", department="SALES")
    _person(rt, people, "sue", "requester", department="SALES")
    _person(rt, people, "olga", "operations_head", department="OPS")
    _person(rt, people, "arch", "archivist", department="OPS")
    _person(rt, people, "root", "admin", department="OPS")
    customer = people.customer("clara", name=CUSTOMER)
    doc = people.document("clara", customer, samples.pdf("licence"), accepted_by=("arch",))
    h = {n: bearer(token_for(client, n)) for n in ("sam", "sue", "olga", "root")}
    for channel, path, secret in (("wecom", "/wecom", ""), ("dingtalk", "/ding", DING_SECRET)):
        url = robots.url(f"{path}?key=robot-key")
        resp = client.put(
            f"/api/v1/departments/SALES/webhooks/{channel}",
            headers=h["root"],
            json={"url": url, "secret": secret},
        )
        assert resp.status_code == 200, resp.get_json()
    robots.posted.clear()
    return {"h": h, "customer": customer, "doc": doc}


def apply(client: Any, org: dict[str, Any]) -> int:
    now = datetime.now(UTC)
    resp = client.post(
        "/api/v1/access-requests",
        headers=org["h"]["sue"],
        json={
            "purpose": PURPOSE,
            "mode": "view",
            "customer": CUSTOMER,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=7)).isoformat(),
        },
    )
    assert resp.status_code == 201, resp.get_json()
    return int(resp.get_json()["id"])


def _sign_in(client: Any, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token
    client.post(
        "/login", data={"csrf_token": token.group(1), "username": username, "password": PASSWORD}
    )


def _dingtalk_sign_ok(posted: Any) -> bool:
    """DingTalk's 加签 as its documentation states it, computed here independently."""
    ts = posted.query["timestamp"][0]
    sign = posted.query["sign"][0]
    expected = base64.b64encode(
        hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    return sign == expected and abs(int(ts) - time.time() * 1000) < 3600_000


def test_an_application_mails_and_messages_the_head_and_the_decision_tells_the_applicant(
    client: Any, org: dict[str, Any], smtp: SmtpServer, robots: RobotReceiver
) -> None:
    request_id = apply(client, org)

    mails = smtp.mailbox.to("sam@example.com")
    assert len(mails) == 1
    mail = mails[0]
    assert "An approval waits for you: access application" in mail
    assert "https://archive.example.com/access/inbox" in mail
    # Only what happened and a link: no purpose, no customer, no applicant.
    assert PURPOSE not in mail and CUSTOMER not in mail and "sue" not in mail.lower()

    [wecom] = robots.at("/wecom")
    assert wecom.query["key"] == ["robot-key"]
    assert wecom.body["msgtype"] == "markdown"
    content = wecom.body["markdown"]["content"]
    assert "有审批等待您处理" in content and f"access application {request_id}" in content
    [ding] = robots.at("/ding")
    assert ding.body["msgtype"] == "markdown" and ding.body["markdown"]["title"]
    assert _dingtalk_sign_ok(ding)

    # The department head's bell counts it, and the list links to the inbox.
    listed = client.get("/api/v1/notifications", headers=org["h"]["sam"]).get_json()
    assert listed["unread"] == 1 and listed["items"][0]["link"] == "/access/inbox"
    assert listed["items"][0]["text_zh"].startswith("有审批等待您处理")

    resp = client.post(
        f"/api/v1/access-requests/{request_id}/decision",
        headers=org["h"]["sam"],
        json={"decision": "approve", "comment": "同意"},
    )
    assert resp.status_code == 200, resp.get_json()
    [told] = smtp.mailbox.to("sue@example.com")
    assert "Your application was decided" in told and "approved" in told and "已批准" in told
    mine = client.get("/api/v1/notifications", headers=org["h"]["sue"]).get_json()
    assert mine["unread"] == 1 and mine["items"][0]["kind"] == "application_decided"

    # Marking read: one, then the count is zero; another's notification is a 404.
    nid = listed["items"][0]["id"]
    assert (
        client.post(f"/api/v1/notifications/{nid}/read", headers=org["h"]["sue"]).status_code == 404
    )
    done = client.post(f"/api/v1/notifications/{nid}/read", headers=org["h"]["sam"]).get_json()
    assert done == {"marked": 1, "unread": 0}


def test_the_bell_shows_the_unread_count_and_the_centre_marks_all_read(
    client: Any, org: dict[str, Any]
) -> None:
    apply(client, org)
    apply(client, org)
    _sign_in(client, "sam")
    home = client.get("/?lang=en").get_data(as_text=True)
    assert re.search(r'id="unread-count">2<', home)
    centre = client.get("/notifications/").get_data(as_text=True)
    assert "An approval waits for you" in centre
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', centre)
    assert csrf
    client.post("/notifications/read", data={"csrf_token": csrf.group(1)})
    assert 'id="unread-count"' not in client.get("/").get_data(as_text=True)


def test_a_refusing_smtp_server_is_retried_then_the_delivery_fails_and_admins_see_it(
    client: Any, rt: Runtime, org: dict[str, Any], smtp: SmtpServer
) -> None:
    smtp.mailbox.refuse = True
    request_id = apply(client, org)  # committed, whatever the mail server says
    assert (
        client.get(f"/api/v1/access-requests/{request_id}", headers=org["h"]["sue"]).status_code
        == 200
    )
    channels = Channels.from_settings(rt.settings)
    retry = Retry(max_attempts=3, base_seconds=60)
    with rt.db.session() as s:
        [email] = s.execute(
            select(Delivery)
            .join(Notification)
            .where(Delivery.channel == "email", Notification.kind == "step_waiting")
        ).scalars()
        assert email.status == DeliveryStatus.QUEUED and email.attempts == 1
        assert email.last_error == "SMTPDataError: SMTP 451"
        first_retry = email.next_try_at
    assert first_retry is not None
    # Not due yet: nothing is tried; then each retry waits longer, the third try fails it.
    assert delivery.retry_due(rt.db, channels, retry)["failed"] == 0
    when = first_retry + timedelta(seconds=1)
    assert delivery.retry_due(rt.db, channels, retry, when) == {"sent": 0, "failed": 1}
    with rt.db.session() as s:
        again = s.get(Delivery, email.id)
        assert again is not None and again.attempts == 2 and again.next_try_at is not None
        assert again.next_try_at - when >= timedelta(minutes=4)
        when = again.next_try_at + timedelta(seconds=1)
    delivery.retry_due(rt.db, channels, retry, when)
    with rt.db.session() as s:
        last = s.get(Delivery, email.id)
        assert last is not None and last.status == DeliveryStatus.FAILED
        failed_events = (
            s.execute(select(AuditEvent).where(AuditEvent.action == "notification.delivery_failed"))
            .scalars()
            .all()
        )
        assert [e.details["channel"] for e in failed_events] == ["email"]
    assert smtp.mailbox.to("sam@example.com") == []

    listed = client.get("/api/v1/notifications/deliveries/failed", headers=org["h"]["root"])
    [row] = listed.get_json()["items"]
    assert row["channel"] == "email" and row["attempts"] == 3
    assert SMTP_PASSWORD not in str(row)
    assert (
        client.get("/api/v1/notifications/deliveries/failed", headers=org["h"]["sam"]).status_code
        == 403
    )
    _sign_in(client, "root")
    page = client.get("/notifications/failed?lang=en").get_data(as_text=True)
    assert "SMTPDataError: SMTP 451" in page and "An approval waits for you" in page
    # The in-app notification stands, and the robots were not held up.
    assert client.get("/api/v1/notifications", headers=org["h"]["sam"]).get_json()["unread"] == 1


PRIVATE_URLS = [
    "http://127.0.0.2:8080/hook",  # loopback, not the allow-listed 127.0.0.1
    "http://10.1.2.3/cgi-bin/webhook/send?key=x",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data",  # link-local: a cloud's metadata
    "file:///etc/passwd",
]


def test_a_webhook_on_a_private_address_is_refused(client: Any, org: dict[str, Any]) -> None:
    for url in PRIVATE_URLS:
        resp = client.put(
            "/api/v1/departments/SALES/webhooks/wecom",
            headers=org["h"]["root"],
            json={"url": url},
        )
        assert resp.status_code == 422, (url, resp.get_json())
    # Only an admin sets a robot.
    resp = client.put(
        "/api/v1/departments/SALES/webhooks/wecom",
        headers=org["h"]["sam"],
        json={"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
    )
    assert resp.status_code == 403


def test_an_unanswered_step_is_reminded_then_escalated_after_working_days(
    client: Any, rt: Runtime, org: dict[str, Any], smtp: SmtpServer
) -> None:
    # Wednesday 30 September 2026, the eve of the National Day holiday (1-7 October).
    with time_machine.travel(datetime(2026, 9, 30, 2, 0, tzinfo=UTC), tick=False):
        request_id = apply(client, org)
    plan = Plan(Calendar.load(), {}, {}, "OPS")  # access: remind after 1, escalate after 2

    def on(month: int, day: int) -> datetime:
        return datetime(2026, month, day, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    # A week of holiday is no working day; the 8th is the first, the 9th the second.
    assert remind_waiting(rt.db, plan, on(10, 7)) == {"reminded": 0, "escalated": 0}
    assert remind_waiting(rt.db, plan, on(10, 8)) == {"reminded": 1, "escalated": 0}
    assert remind_waiting(rt.db, plan, on(10, 8)) == {"reminded": 0, "escalated": 0}
    assert remind_waiting(rt.db, plan, on(10, 9)) == {"reminded": 0, "escalated": 1}
    assert remind_waiting(rt.db, plan, on(10, 12)) == {"reminded": 0, "escalated": 0}

    reminded = [m for m in smtp.mailbox.to("sam@example.com") if "Reminder:" in m]
    assert len(reminded) == 1 and "waited 1 working days for you" in reminded[0]
    [up] = smtp.mailbox.to("olga@example.com")
    assert f"access application {request_id}" in up and "2 working days" in up
    with rt.db.session() as s:
        events = s.execute(
            select(AuditEvent.action, AuditEvent.target_id)
            .where(AuditEvent.action.like("approval.%"))
            .order_by(AuditEvent.seq)
        ).all()
        assert events == [
            ("approval.reminded", str(request_id)),
            ("approval.escalated", str(request_id)),
        ]
        kinds = s.execute(select(Notification.kind).order_by(Notification.id)).scalars().all()
        assert kinds.count("step_reminder") == 1 and kinds.count("step_escalated") == 1


def test_the_daily_digest_sends_one_message_with_the_days_items(
    client: Any, rt: Runtime, org: dict[str, Any], smtp: SmtpServer, robots: RobotReceiver
) -> None:
    resp = client.put(
        "/api/v1/notifications/preferences",
        headers=org["h"]["sam"],
        json={"channels": {"step_waiting": ["email"]}, "digest": True},
    )
    assert resp.status_code == 200 and resp.get_json()["digest"] is True
    apply(client, org)
    apply(client, org)
    assert smtp.mailbox.to("sam@example.com") == [] and robots.posted == []
    channels = Channels.from_settings(rt.settings)
    assert delivery.send_digests(rt.db, channels) == 1
    [digest] = smtp.mailbox.to("sam@example.com")
    assert digest.count("An approval waits for you") == 2
    assert delivery.send_digests(rt.db, channels) == 0


def test_admins_set_the_robots_on_the_departments_page_and_never_see_their_keys(
    client: Any, org: dict[str, Any], robots: RobotReceiver
) -> None:
    _sign_in(client, "root")
    page = client.get("/admin/departments?lang=en").get_data(as_text=True)
    table = page[page.index('id="group-robots"') :]
    assert (
        table.count("<td>127.0.0.1</td>") == 2
        and "robot-key" not in page
        and DING_SECRET not in page
    )
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', table)
    assert csrf
    form = {"csrf_token": csrf.group(1), "department": "OPS", "channel": "wecom"}
    refused = client.post(
        "/notifications/webhooks",
        data={**form, "url": "http://10.9.9.9/hook"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "private or local address" in refused
    client.post("/notifications/webhooks", data={**form, "url": robots.url("/ops")})
    page = client.get("/admin/departments").get_data(as_text=True)
    assert page[page.index('id="group-robots"') :].count("<td>127.0.0.1</td>") == 3


def test_a_silent_smtp_server_times_out_as_a_failed_try() -> None:
    """A server that accepts the connection and never greets: the try ends at the timeout
    with an error that names no secret."""
    import socket

    from archive_service.notifications.channels import DeliveryError, Message, Smtp

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        smtp = Smtp(
            host="127.0.0.1",
            port=listener.getsockname()[1],
            username=SMTP_USER,
            password=SMTP_PASSWORD,
            sender="archive@example.com",
            timeout=0.3,
        )
        with pytest.raises(DeliveryError) as caught:
            smtp.send("sam@example.com", Message("t", ["一"], ["one"], "/"))
    assert str(caught.value) in {"TimeoutError", "SMTPServerDisconnected"}
    assert SMTP_PASSWORD not in str(caught.value)
