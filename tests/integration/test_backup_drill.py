"""The restore drill (issue 16), on the embedded default (SQLite + a folder, through the
three commands of docs/production.md) and on the production stack (PostgreSQL + S3 on a
moto server): back up, carry on, destroy once more, wipe everything, restore — then the
audit trail verifies, every document reads back, both destroyed documents answer 410 with
their keys gone, and the grants and the access register are intact."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from archive_service.audit import services as audit
from archive_service.backup import journal
from archive_service.backup.restore import restore
from archive_service.backup.services import backup_now
from archive_service.backup.target import open_objects, open_target
from archive_service.cli import main
from archive_service.config import Settings
from archive_service.instance import ensure_instance
from archive_service.migrate import upgrade
from archive_service.runtime import build_runtime
from storage.keyring import Keyring
from tests.conftest import CHEAP_HASHING, PG_BASE_URL, People, _pg_reachable, unavailable
from tests.integration.backup_drill import PASSPHRASE, Drill, before_backup, organisation
from tests.storage.conftest import moto_endpoint  # noqa: F401
from workers.sender import connect

pytestmark = pytest.mark.slow


def _env(settings: Settings) -> dict[str, str]:
    return {
        "ARCHIVE_INSTANCE_DIR": str(settings.instance_dir),
        "ARCHIVE_BACKUP_PASSPHRASE": PASSPHRASE,
        "ARCHIVE_CELERY_ALWAYS_EAGER": "1",
    }


def _run(settings: Settings, *args: str) -> dict[str, Any]:
    out = CliRunner().invoke(main, list(args), env=_env(settings), catch_exceptions=False)
    assert out.exit_code == 0, out.output
    parsed: dict[str, Any] = json.loads(out.output.strip().splitlines()[-1])
    return parsed


def _after_backup(drill: Drill) -> dict[str, Any]:
    """More documents accepted, and the second destruction (of one the backup holds)."""
    drill.file("new_after", drill.customer)
    rid, listed = drill.compile_review()
    assert listed == [drill.docs["gone_after"]]
    did = drill.destroy(rid, listed)
    return {"second": did}


def _check_restored(drill: Drill, names: dict[str, list[str]], contents: dict[int, bytes]) -> None:
    with drill.rt.db.unit_of_work() as s:
        checked = audit.verify(s, drill.rt.anchor)
    assert checked.ok, checked.as_dict()
    for doc, data in contents.items():
        got = drill.content(doc)
        assert got.status_code == 200 and got.data == data
    for name in ("gone_before", "gone_after"):
        assert drill.content(drill.docs[name]).status_code == 410
        assert all(k is None for k in drill.keys_of(names[name]))
        assert not any(drill.rt.vault.backend.exists(n) for n in names[name])
    # The grant still opens the licence for its holder; the register kept her reading.
    assert drill.content(drill.docs["licence"], "sue").status_code == 200
    readers = [(e["user"], e["document_id"]) for e in drill.register()]
    assert readers.count(("sue", drill.docs["licence"])) >= 2


def _contents(drill: Drill, *names: str) -> dict[int, bytes]:
    out = {}
    for name in names:
        resp = drill.content(drill.docs[name])
        assert resp.status_code == 200
        out[drill.docs[name]] = resp.data
    return out


def test_drill_on_the_embedded_default(tmp_path: Path) -> None:
    """Three commands: ``archive backup --to``, remove the instance, ``archive restore``."""
    target = tmp_path / "backups"
    settings = Settings(
        instance_dir=tmp_path / "instance",
        celery_always_eager=True,
        backup_to=str(target),
        backup_passphrase=PASSPHRASE,
        **CHEAP_HASHING,
    ).with_defaults()
    ensure_instance(settings)
    upgrade(settings.database_url)
    rt = connect(build_runtime(settings))
    People(rt).department("OPS")
    organisation(People(rt))
    drill = Drill.on(rt)
    first = before_backup(drill)
    contents = _contents(drill, "licence", "kept_old", "gone_after")
    del contents[drill.docs["gone_after"]]

    made = _run(settings, "backup", "--to", str(target))
    assert made["objects"] > 0 and made["copied"] == made["objects"]
    checked = _run(settings, "backup", "verify", str(target))
    assert checked["ok"] and checked["signature"].startswith("the signing key sealed")

    _after_backup(drill)
    entries = journal.read_all(open_target(settings))  # type: ignore[arg-type]
    assert len(entries) == 2 and all(e.valid for e in entries)
    rt.close()
    shutil.rmtree(settings.instance_dir)  # everything: database, objects, keys, anchor

    restored = _run(settings, "restore", "--from", str(target))
    assert restored["audit_ok"] and restored["documents_erased"] == 1
    for key_file in ("keyring.json", "signing_key.pem", "audit_key.pem", "search_key"):
        assert (settings.instance_dir / key_file).stat().st_mode & 0o777 == 0o600
    rt = connect(build_runtime(settings))
    try:
        drill.connect(rt)
        _check_restored(drill, first["names"], contents)
        # The search index was rebuilt from the restored database.
        assert rt.search_index.count() == 2
    finally:
        rt.close()


@pytest.fixture
def pg_database() -> Iterator[tuple[str, Any]]:
    """A database of its own (the drill drops and recreates it: the wipe)."""
    if not _pg_reachable():
        unavailable(f"PostgreSQL unreachable at {PG_BASE_URL}")
    name = f"drill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")

    def recreate() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))

    recreate()
    url = make_url(PG_BASE_URL).set(database=name).render_as_string(hide_password=False)
    yield url, recreate
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_drill_on_postgresql_and_s3(
    tmp_path: Path,
    pg_database: tuple[str, Any],
    moto_endpoint: str,  # noqa: F811
) -> None:
    url, recreate = pg_database
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        instance_dir=tmp_path / "instance",
        database_url=url,
        secret_key="drill-session-secret",
        storage="s3",
        s3_endpoint=moto_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing-secret",
        s3_bucket=f"store-{tag}",
        s3_secure=False,
        celery_always_eager=True,
        backup_to=f"s3://backup-{tag}/nightly",
        backup_passphrase=PASSPHRASE,
        **CHEAP_HASHING,
    ).with_defaults()
    ensure_instance(settings)
    Keyring.generate().save(settings.keyring_file)  # production mounts one
    upgrade(url)
    rt = connect(build_runtime(settings))
    rt.vault.backend.ensure_ready()
    People(rt).department("OPS")
    organisation(People(rt))
    drill = Drill.on(rt)
    first = before_backup(drill)
    contents = _contents(drill, "licence", "kept_old")
    made = backup_now(rt)
    assert made is not None and made.objects > 0
    _after_backup(drill)

    # Wipe: a new empty database, every object (and version) gone, the instance folder too.
    store = rt.vault.backend
    for name in list(store.list_names()):
        store.delete(name)
    rt.close()
    recreate()
    shutil.rmtree(settings.instance_dir)
    # The session secret is given inline: the restore keeps it to the settings.
    target = open_target(settings)
    assert target is not None
    result = restore(settings, target, None, PASSPHRASE)
    assert result.ok and result.documents_erased == 1, result.as_dict()
    rt = connect(build_runtime(settings))
    try:
        drill.connect(rt)
        _check_restored(drill, first["names"], contents)
        # The objects at the target are the store's, under the same names (fixity repairs).
        copies = open_objects(settings)
        assert copies is not None
        licence = drill.object_names(drill.docs["licence"])
        assert all(copies.exists(n) for n in licence)
    finally:
        rt.close()


def _embedded(instance: Path, backup_to: str) -> Settings:
    return Settings(
        instance_dir=instance,
        celery_always_eager=True,
        backup_to=backup_to,
        backup_passphrase=PASSPHRASE,
        **CHEAP_HASHING,
    ).with_defaults()


def test_restore_refuses_a_non_empty_instance(tmp_path: Path) -> None:
    settings = _embedded(tmp_path / "instance", str(tmp_path / "backups"))
    ensure_instance(settings)
    upgrade(settings.database_url)
    rt = connect(build_runtime(settings))
    People(rt).department("OPS")
    backup_now(rt)
    rt.close()
    target = open_target(settings)
    assert target is not None
    from archive_service.backup.restore import NotEmpty

    with pytest.raises(NotEmpty, match="database already holds tables"):
        restore(settings, target, None, PASSPHRASE)
    # Another instance with keys of its own is not empty either.
    other = _embedded(tmp_path / "other", settings.backup_to)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "search_key").write_text("ab" * 32 + "\n")
    with pytest.raises(NotEmpty, match="other keys: search_key"):
        restore(other, target, None, PASSPHRASE)
    assert not (tmp_path / "other" / "archive.sqlite3").exists()  # nothing was written
