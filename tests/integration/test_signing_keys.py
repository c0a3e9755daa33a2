"""Signing-key rotation (``archive destruction rotate-key``): records signed before a
rotation still verify by their own key (API, page, CLI), the key history lists every key,
and running processes sign with the new key without a restart. Destruction records are
kept permanently by default (销毁清册 永久保存)."""

from __future__ import annotations

import json
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner

from archive_service.cli import main
from archive_service.runtime import Runtime
from tests.conftest import People, bearer, token_for
from tests.integration.test_disposal_api import ELEVEN_YEARS_AGO, _file, org  # noqa: F401

NAMES = ("clara", "arch", "olga", "leo", "audrey")


def destroy_one(client: Any, h: dict[str, Any], people: People, title: str) -> int:
    """A document filed eleven years ago, reviewed, appraised, approved and destroyed."""
    with time_machine.travel(ELEVEN_YEARS_AGO, tick=True):
        customer = people.customer("clara", name=f"客户 {title}")
        doc = _file(people, customer, title)
    review = client.post("/api/v1/retention-reviews", headers=h["arch"])
    assert review.status_code == 201, review.get_json()
    rid = review.get_json()["id"]
    assert (
        client.post(f"/api/v1/retention-reviews/{rid}/confirm", headers=h["olga"]).status_code
        == 200
    )
    appraised = client.post(
        f"/api/v1/retention-reviews/{rid}/items/{doc}/appraisal",
        json={"decision": "destroy"},
        headers=h["arch"],
    )
    assert appraised.status_code == 200, appraised.get_json()
    applied = client.post(f"/api/v1/retention-reviews/{rid}/destruction", headers=h["arch"])
    assert applied.status_code == 201, applied.get_json()
    did = int(applied.get_json()["id"])
    for who in ("olga", "leo"):
        decided = client.post(
            f"/api/v1/destructions/{did}/decision", json={"decision": "approve"}, headers=h[who]
        )
        assert decided.status_code == 200, decided.get_json()
    started = client.post(
        f"/api/v1/destructions/{did}/execute",
        json={"supervisor": "sven", "place": "档案室"},
        headers=h["arch"],
    )
    assert started.status_code == 202, started.get_json()
    assert (
        client.get(f"/api/v1/destructions/{did}", headers=h["audrey"]).get_json()["status"]
        == "completed"
    )
    return did


@pytest.fixture
def cli(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARCHIVE_KEYRING_FILE", settings.keyring_file)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def _cli_verify(cli: Any, client: Any, h: dict[str, Any], did: int) -> Any:
    signed = client.get(f"/api/v1/destructions/{did}/record", headers=h["audrey"]).get_json()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "record.json"
        path.write_text(json.dumps(signed, ensure_ascii=False), encoding="utf-8")
        return cli("destruction", "verify", str(path))


@pytest.mark.usefixtures("org")
def test_records_signed_before_a_rotation_still_verify(
    client: Any,
    rt: Runtime,
    people: People,
    cli: Any,
    settings: Any,
) -> None:
    h = {n: bearer(token_for(client, n)) for n in NAMES}
    first = destroy_one(client, h, people, "first")
    old_key = rt.signer.key_id
    old_pem = rt.signer.public_pem

    # The history, behind authentication and the policy.
    assert client.get("/api/v1/signing-keys").status_code == 401
    refused = client.get("/api/v1/signing-keys", headers=h["clara"])
    assert refused.status_code == 403
    assert refused.get_json()["error"]["rule"] == "signing-key-reader"
    listed = client.get("/api/v1/signing-keys", headers=h["audrey"]).get_json()
    assert [(k["key_id"], k["active"]) for k in listed["items"]] == [(old_key, True)]

    key_file = Path(settings.instance_dir) / "signing_key.pem"
    before = key_file.read_bytes()
    rotated = cli("destruction", "rotate-key")
    assert rotated.exit_code == 0, rotated.output
    assert old_key in rotated.output
    # Replaced atomically in place, owner-only, no temporary file left behind.
    assert key_file.read_bytes() != before
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in key_file.parent.glob("signing_key*")) == ["signing_key.pem"]
    # This running process signs with the new key now, without a restart.
    new_key = rt.signer.key_id
    assert new_key != old_key and new_key in rotated.output

    second = destroy_one(client, h, people, "second")
    for did, key_id, pem in ((first, old_key, old_pem), (second, new_key, rt.signer.public_pem)):
        record = client.get(f"/api/v1/destructions/{did}/record", headers=h["audrey"]).get_json()
        assert record["key_id"] == key_id and record["public_key"] == pem
        checked = client.get(f"/api/v1/destructions/{did}/record/verify", headers=h["audrey"])
        assert checked.get_json() == {"ok": True, "key_id": key_id}
        offline = _cli_verify(cli, client, h, did)
        assert offline.exit_code == 0 and offline.output.startswith("valid"), offline.output

    listed = client.get("/api/v1/signing-keys", headers=h["audrey"]).get_json()
    keys = {k["key_id"]: k for k in listed["items"]}
    assert set(keys) == {old_key, new_key}
    assert keys[new_key]["active"] and keys[new_key]["retired_at"] is None
    assert not keys[old_key]["active"] and keys[old_key]["retired_at"]
    assert keys[old_key]["public_key"] == old_pem
    assert "PRIVATE" not in json.dumps(listed)

    # The rotation is in the audit trail (by the operator), and the chain holds.
    events = client.get(
        "/api/v1/audit", query_string={"action": "destruction.key_rotate"}, headers=h["audrey"]
    ).get_json()["items"]
    assert [(e["actor"], e["details"]["retired"]) for e in events] == [("operator", old_key)]
    assert cli("audit", "verify").exit_code == 0


def test_rotation_to_a_mounted_file_and_refusals(
    rt: Runtime, cli: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archive_service.disposal.signing import new_key_pem

    mounted = tmp_path / "secrets" / "signing.pem"
    mounted.parent.mkdir()
    mounted.write_text(new_key_pem())
    mounted.chmod(0o600)
    monkeypatch.setenv("ARCHIVE_SIGNING_KEY_FILE", str(mounted))
    old = cli("destruction", "public-key").output

    # A new key written elsewhere: never over an existing file.
    elsewhere = tmp_path / "secrets" / "next.pem"
    elsewhere.write_text("x")
    refused = cli("destruction", "rotate-key", "--file", str(elsewhere))
    assert refused.exit_code != 0 and "refusing to overwrite" in refused.output
    elsewhere.unlink()
    written = cli("destruction", "rotate-key", "--file", str(elsewhere))
    assert written.exit_code == 0, written.output
    assert "ARCHIVE_SIGNING_KEY_FILE" in written.output
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
    assert cli("destruction", "public-key").output == old  # still mounted: the old key

    # The operator mounts it where the processes read it: they pick it up.
    mounted.write_bytes(elsewhere.read_bytes())
    assert cli("destruction", "public-key").output != old

    # An inline key cannot be replaced in place: the command says what to do.
    monkeypatch.delenv("ARCHIVE_SIGNING_KEY_FILE")
    monkeypatch.setenv("ARCHIVE_SIGNING_KEY", new_key_pem())
    inline = cli("destruction", "rotate-key")
    assert inline.exit_code != 0 and "--file" in inline.output


@pytest.mark.usefixtures("org")
def test_records_are_kept_permanently_by_default(
    client: Any,
    rt: Runtime,
    people: People,
) -> None:
    from workers.tasks import purge_destruction_records

    h = {n: bearer(token_for(client, n)) for n in NAMES}
    did = destroy_one(client, h, people, "kept")
    signed = client.get(f"/api/v1/destructions/{did}/record", headers=h["audrey"]).get_json()
    assert signed["record"]["keep_until"] is None
    assert signed["kept"] == {"until": None, "label": "permanent", "label_zh": "永久"}
    # Nothing is purged unless ARCHIVE_DESTRUCTION_RECORD_YEARS is set.
    with time_machine.travel(ELEVEN_YEARS_AGO.replace(year=ELEVEN_YEARS_AGO.year + 200)):
        assert purge_destruction_records() == []
    assert client.get(f"/api/v1/destructions/{did}/record", headers=h["audrey"]).status_code == 200
    # The printed record says so in the reader's language.
    from tests.integration.test_web_accounts import login

    login(client, "audrey")
    zh = client.get(f"/disposal/destructions/{did}/record?lang=zh").get_data(as_text=True)
    assert 'id="kept-until">永久<' in zh
    en = client.get(f"/disposal/destructions/{did}/record?lang=en").get_data(as_text=True)
    assert 'id="kept-until">permanent<' in en
