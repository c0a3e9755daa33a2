"""The notifications' pure rules: working days, retry waits, webhook addresses, DingTalk's
signature, and when (and to whom) a waiting step is reminded and escalated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from archive_service.notifications import rules
from archive_service.notifications.vocabulary import Stage
from archive_service.workdays import Calendar

CN = Calendar.load()


def at(y: int, m: int, d: int, hour: int = 2) -> datetime:
    return datetime(y, m, d, hour, tzinfo=UTC)


def test_the_shipped_calendar_has_china_s_2026_holidays_and_make_up_days() -> None:
    assert not CN.is_working_day(date(2026, 10, 1))  # National Day
    assert not CN.is_working_day(date(2026, 2, 17))  # Spring Festival
    assert CN.is_working_day(date(2026, 10, 10))  # a Saturday worked (调休)
    assert CN.is_working_day(date(2026, 2, 14))
    assert not CN.is_working_day(date(2026, 12, 12))  # an ordinary Saturday
    assert CN.is_working_day(date(2026, 12, 7))


def test_working_days_count_whole_days_after_the_start_in_china_s_time() -> None:
    assert CN.working_days_between(at(2026, 12, 7), at(2026, 12, 7, 9)) == 0
    assert CN.working_days_between(at(2026, 12, 7), at(2026, 12, 8)) == 1
    # Friday to Monday is one working day; the make-up Saturday counts.
    assert CN.working_days_between(at(2026, 12, 4), at(2026, 12, 7)) == 1
    assert CN.working_days_between(at(2026, 10, 9), at(2026, 10, 10)) == 1
    # 23:30 UTC on Sunday is Monday morning in Shanghai.
    assert CN.working_days_between(at(2026, 12, 6, 23), at(2026, 12, 8)) == 1
    assert Calendar().working_days_between(at(2026, 9, 30), at(2026, 10, 8)) == 6


def test_each_retry_waits_four_times_longer_up_to_six_hours() -> None:
    waits = [rules.backoff(n, 60) for n in range(1, 7)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 4, 16, 64)]
    assert waits[-1] == timedelta(hours=6)


@pytest.mark.parametrize(
    ("host", "addresses", "allowed", "ok"),
    [
        ("oapi.dingtalk.com", ["203.119.213.10"], [], True),
        ("hook.internal", ["10.0.0.5"], [], False),
        ("localhost", ["127.0.0.1"], [], False),
        ("metadata", ["169.254.169.254"], [], False),
        ("v6", ["::1"], [], False),
        ("hook.internal", ["10.0.0.5"], ["hook.internal"], True),
        ("hook.internal", ["10.0.0.5"], ["10.0.0.0/24"], True),
        ("hook.internal", ["10.0.1.5"], ["10.0.0.0/24"], False),
        ("nowhere", [], [], False),
    ],
)
def test_private_webhook_addresses_need_the_allow_list(
    host: str, addresses: list[str], allowed: list[str], ok: bool
) -> None:
    assert rules.address_allowed(host, addresses, allowed)[0] is ok


def test_dingtalk_signature_is_base64_hmac_sha256_of_timestamp_and_secret() -> None:
    # printf '1700000000000\nSECabc' | openssl dgst -sha256 -hmac SECabc -binary | base64
    assert rules.dingtalk_sign("SECabc", 1700000000000) == EXPECTED_SIGN


EXPECTED_SIGN = "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="


def test_a_step_is_reminded_then_escalated_once_each() -> None:
    w = rules.Waiting(1, 3)
    assert rules.stages_due(0, w, []) == []
    assert rules.stages_due(1, w, []) == [Stage.REMINDED]
    assert rules.stages_due(3, w, [Stage.REMINDED]) == [Stage.ESCALATED]
    assert rules.stages_due(4, w, [Stage.REMINDED, Stage.ESCALATED]) == []
    assert rules.waiting_for("access", {"access": 2}, {}) == rules.Waiting(2, 2)


def test_the_next_person_up() -> None:
    assert rules.next_up("department_head", "SALES", "OPS") == rules.Above("operations_head", "OPS")
    assert rules.next_up("archivist", "SALES", "OPS") == rules.Above("department_head", "SALES")
    assert rules.next_up("operations_head", "OPS", "OPS") == rules.Above("leader", None)
    assert rules.next_up("admin", None, "OPS") == rules.Above("operations_head", "OPS")


def test_a_robot_that_redirects_is_not_followed() -> None:
    """A redirect could lead the post to an address the check refuses: it is an error."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import pytest

    from archive_service.notifications.channels import DeliveryError, Webhooks

    hits: list[str] = []

    class Target(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the handler's name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_GET = do_POST  # noqa: N815 - urllib follows a 303 with a GET

        def log_message(self, *_args: object) -> None:
            pass

    target = HTTPServer(("127.0.0.1", 0), Target)

    class Redirect(Target):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(303)
            self.send_header("Location", f"http://127.0.0.1:{target.server_port}/inside")
            self.end_headers()

    first = HTTPServer(("127.0.0.1", 0), Redirect)
    for server in (target, first):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hooks = Webhooks(allowed=("127.0.0.1",), timeout=5)
        with pytest.raises(DeliveryError, match="HTTP 303"):
            hooks.post(f"http://127.0.0.1:{first.server_port}/robot", {"msgtype": "text"})
        assert hits == []
    finally:
        for server in (target, first):
            server.shutdown()
            server.server_close()
