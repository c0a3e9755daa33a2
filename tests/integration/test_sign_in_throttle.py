"""Failed sign-ins slow down one address's attempts on one account, never the owner
elsewhere; the answer reveals nothing about which accounts exist; the owner is told."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import func, select

from archive_service.accounts.models import User
from archive_service.accounts.settings import Passwords
from archive_service.audit.models import AuditEvent
from tests.conftest import PASSWORD, People
from tests.integration.test_cli import run_cli  # noqa: F401 (fixture)
from tests.integration.test_web_accounts import csrf, login

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
OWNER = {"REMOTE_ADDR": "192.0.2.10"}


def _token(client: Any, username: str, password: str, where: dict[str, str]) -> Any:
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_base=where,
    )


def _events(rt: Any, action: str) -> list[AuditEvent]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_failures_from_one_address_never_lock_the_owner_out(
    client: Any, people: People, rt: Any
) -> None:
    """Today five anonymous wrong passwords locked any account, admin included."""
    people.user("root", "admin", department=None)
    with time_machine.travel(START, tick=False) as t:
        for _ in range(12):
            assert _token(client, "root", "guessing wrong", ATTACKER).status_code == 401
            t.shift(timedelta(seconds=5))
        # The right password from an address that has not failed works at once.
        resp = _token(client, "root", PASSWORD, OWNER)
        assert resp.status_code == 201, resp.get_json()
        # The attacker's address waits, even with the right password.
        assert _token(client, "root", PASSWORD, ATTACKER).status_code == 401
    assert _events(rt, "login.delayed")


def test_the_waiting_answer_is_the_wrong_password_answer(client: Any, people: People) -> None:
    """Same status, same body for a waiting account, a wrong password and an unknown name
    (today: ``account_locked`` revealed that the account exists)."""
    people.user("clara", "clerk")
    with time_machine.travel(START, tick=False):
        answers = []
        for name in ["clara"] * 7 + ["ghost"] * 7:
            resp = _token(client, name, "guessing wrong", ATTACKER)
            answers.append((resp.status_code, resp.get_json()))
        waiting = _token(client, "clara", PASSWORD, ATTACKER)
        answers.append((waiting.status_code, waiting.get_json()))
    assert {(status, repr(body)) for status, body in answers} == {
        (
            401,
            repr(
                {
                    "error": {
                        "code": "not_authenticated",
                        "message": "wrong username or password",
                    }
                }
            ),
        )
    }


class CountingPasswords(Passwords):
    """The real argon2 hasher, counting the checks it makes."""

    checks = 0

    def verify(self, password_hash: str, password: str) -> bool:
        CountingPasswords.checks += 1
        return super().verify(password_hash, password)


def test_every_path_does_the_same_password_hash_work(client: Any, people: People, rt: Any) -> None:
    """Unknown name, wrong password, waiting address, right password: one argon2 check
    each, so the answers take as long (today a locked account answered in ~10 ms against
    ~170 ms for an unknown name). ``benchmarks/signin_timing.py`` measures the times."""
    people.user("clara", "clerk")
    rt.accounts = dataclasses.replace(
        rt.accounts, passwords=CountingPasswords(rt.accounts.passwords.cost)
    )
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            _token(client, "clara", "guessing wrong", ATTACKER)
        cases = {
            "unknown": ("ghost", "guessing wrong", OWNER),
            "wrong": ("clara", "guessing wrong", OWNER),
            "waiting": ("clara", PASSWORD, ATTACKER),
            "right": ("clara", PASSWORD, OWNER),
        }
        checks = {}
        for case, (name, password, where) in cases.items():
            before = CountingPasswords.checks
            _token(client, name, password, where)
            checks[case] = CountingPasswords.checks - before
    assert checks == {"unknown": 1, "wrong": 1, "waiting": 1, "right": 1}


def test_delays_grow_and_then_are_forgotten(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    with time_machine.travel(START, tick=False) as t:
        for _ in range(5):
            _token(client, "clara", "guessing wrong", ATTACKER)
        # 30 s after the fifth failure the address may try again ...
        t.shift(timedelta(seconds=29))
        assert _token(client, "clara", PASSWORD, ATTACKER).status_code == 401
        t.shift(timedelta(seconds=1))
        _token(client, "clara", "guessing wrong", ATTACKER)  # ... the sixth: one minute
        t.shift(timedelta(seconds=59))
        assert _token(client, "clara", PASSWORD, ATTACKER).status_code == 401
        t.shift(timedelta(seconds=1))
        assert _token(client, "clara", PASSWORD, ATTACKER).status_code == 201


def test_the_owner_is_told_at_the_next_sign_in(client: Any, people: People, rt: Any) -> None:
    people.user("clara", "clerk")
    with time_machine.travel(START, tick=False) as t:
        for _ in range(3):
            _token(client, "clara", "guessing wrong", ATTACKER)
            t.shift(timedelta(minutes=1))
        _token(client, "ghost", "guessing wrong", ATTACKER)  # not hers
        t.shift(timedelta(hours=1))
        first = _token(client, "clara", PASSWORD, OWNER).get_json()
        again = _token(client, "clara", PASSWORD, OWNER).get_json()
    assert first["failed_sign_ins"] == 3
    assert datetime.fromisoformat(first["failed_since"]) == START
    assert again["failed_sign_ins"] == 0 and again["failed_since"] is None
    success = [e for e in _events(rt, "login.success") if e.actor == "clara"]
    assert [e.details["failed_sign_ins_reported"] for e in success] == [3, 0]
    failures = [e for e in _events(rt, "login.failure") if e.target_id is not None]
    assert len(failures) == 3 and {e.target_type for e in failures} == {"user"}


def test_the_owner_is_told_in_the_browser(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    for _ in range(2):
        _token(client, "clara", "guessing wrong", ATTACKER)
    client.get("/login?lang=en")
    assert login(client, "clara").status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "2 failed sign-ins to your account since" in home
    assert "2 failed sign-ins" not in client.get("/").get_data(as_text=True)


def test_the_operator_lifts_the_delays(
    client: Any,
    people: People,
    rt: Any,
    run_cli: Any,  # noqa: F811
) -> None:
    people.user("clara", "clerk")
    for _ in range(6):
        _token(client, "clara", "guessing wrong", ATTACKER)
    assert _token(client, "clara", PASSWORD, ATTACKER).status_code == 401
    result = run_cli("user", "unlock", "clara")
    assert result.exit_code == 0, result.output
    assert _token(client, "clara", PASSWORD, ATTACKER).status_code == 201
    (unlocked,) = _events(rt, "user.unlock")
    assert unlocked.actor == "operator" and unlocked.details["sources"] == 1
    assert run_cli("user", "unlock", "nobody").exit_code != 0


def test_a_successful_sign_in_clears_its_address(client: Any, people: People, rt: Any) -> None:
    from archive_service.accounts.models import SignInThrottle

    people.user("clara", "clerk")
    for _ in range(3):
        _token(client, "clara", "typo typo typo", OWNER)
    assert _token(client, "clara", PASSWORD, OWNER).status_code == 201
    with rt.db.unit_of_work() as s:
        left = s.execute(select(func.count()).select_from(SignInThrottle)).scalar_one()
        clara = s.execute(select(User).where(User.username == "clara")).scalar_one()
        assert left == 0 and clara.failed_logins == 0


def test_a_taken_username_is_not_confirmed_by_the_application_form(
    client: Any, people: People, rt: Any
) -> None:
    """The anonymous form answers "received" either way; nothing is created for a taken
    name, and the refusal is in the audit trail."""
    people.user("clara", "clerk")
    people.department("FIN")

    def apply(username: str) -> Any:
        return client.post(
            "/apply?lang=en",
            data={
                "csrf_token": csrf(client, "/apply"),
                "username": username,
                "display_name": "Someone",
                "department": "FIN",
                "roles": ["requester"],
                "password": "a fine long secret",
                "confirm": "a fine long secret",
            },
        )

    taken, fresh = apply("CLARA"), apply("newcomer")
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    page_taken = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "Application received" in page_taken
    with rt.db.unit_of_work() as s:
        names = set(s.execute(select(User.username)).scalars())
    assert names == {"clara", "newcomer"}
    (refused,) = _events(rt, "user.apply_refused")
    assert refused.details["username"] == "CLARA" and refused.details["reason"] == "username taken"
