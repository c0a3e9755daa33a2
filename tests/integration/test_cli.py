"""The ``archive`` command line, on both database backends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from archive_service.cli import main


@pytest.fixture
def run_cli(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("ARCHIVE_ADMIN_PASSWORD", raising=False)
    runner = CliRunner()

    def invoke(*args: str, **kwargs: Any) -> Any:
        return runner.invoke(main, list(args), catch_exceptions=False, **kwargs)

    return invoke


def test_init_creates_the_admin_once_and_shows_the_password_once(run_cli: Any, client: Any) -> None:
    first = run_cli("init")
    assert first.exit_code == 0
    assert "admin account created" in first.output
    password = first.output.split("password '")[1].split("'")[0]
    second = run_cli("init")
    assert "admin account created" not in second.output
    resp = client.post("/api/v1/auth/token", json={"username": "admin", "password": password})
    assert resp.status_code == 201


def test_init_takes_the_admin_password_from_the_environment(
    run_cli: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_ADMIN_PASSWORD", "chosen root secret 1")
    result = run_cli("init")
    assert "chosen root secret 1" not in result.output
    resp = client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": "chosen root secret 1"}
    )
    assert resp.status_code == 201


def test_user_commands(run_cli: Any, client: Any) -> None:
    run_cli("init")
    run_cli("department", "create", "FIN", "财务部")
    created = run_cli(
        "user",
        "create",
        "--username",
        "fiona",
        "--display-name",
        "Fiona",
        "--department",
        "FIN",
        "--role",
        "requester",
        input="a long and quiet secret\n" * 2,
    )
    assert created.exit_code == 0, created.output
    assert json.loads(created.output.splitlines()[-1])["roles"] == ["requester"]
    changed = run_cli("user", "set-roles", "fiona", "requester", "department_head")
    assert json.loads(changed.output)["roles"] == ["department_head", "requester"]
    weak = run_cli(
        "user", "create", "--username", "weak", "--display-name", "W", input="short\nshort\n"
    )
    assert weak.exit_code != 0 and "at least 12" in weak.output
    token = client.post(
        "/api/v1/auth/token", json={"username": "fiona", "password": "a long and quiet secret"}
    )
    assert token.status_code == 201
    closed = run_cli("user", "close", "fiona", "--reason", "left")
    assert closed.exit_code == 0
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.get_json()['token']}"})
    assert me.status_code == 401
    listed = [json.loads(line) for line in run_cli("user", "list").output.splitlines()]
    assert {u["username"]: u["status"] for u in listed} == {"admin": "active", "fiona": "closed"}


def test_audit_verify_names_the_tampered_event(run_cli: Any, rt: Any) -> None:
    run_cli("init")
    ok = run_cli("audit", "verify")
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    with rt.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE seq = 2"))
    broken = run_cli("audit", "verify")
    assert broken.exit_code == 1
    assert json.loads(broken.output) == {
        "ok": False,
        "checked": 1,
        "first_broken": 2,
        "reason": "event content altered",
        "checkpoints": 0,
        "anchored_seq": None,
        "findings": [{"code": "event_altered", "seq": 2}],
    }


def test_init_refuses_a_weak_admin_password_clearly(
    run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_ADMIN_PASSWORD", "admin123")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 1
    assert "password must be at least 12 characters" in result.output
