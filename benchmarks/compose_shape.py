"""What the benchmarks that run docker-compose.yml's services here share: each service's
environment with its mounts moved to a work folder, and the secrets the stack mounts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from archive_service.accounts import departments, users
from archive_service.audit.signing import new_key_pem as new_audit_key_pem
from archive_service.disposal.signing import new_key_pem
from archive_service.indexing.term_key import new_key_text as new_search_key_text
from archive_service.policy import Caller
from archive_service.runtime import Runtime
from storage.keyring import Keyring
from tests.e2e import stack

FOLDERS = ("instance", "index", "secrets", "tmpfs/archive", "objects")


def prepare(work: Path) -> None:
    """The folders the stack mounts, and the secrets compose hands it, under ``work``."""
    for folder in FOLDERS:
        (work / folder).mkdir(parents=True)
    secrets = work / "secrets"
    Keyring.generate().save(secrets / "archive_keyring")
    (secrets / "archive_signing_key").write_text(new_key_pem())
    (secrets / "archive_audit_key").write_text(new_audit_key_pem())
    (secrets / "archive_search_key").write_text(new_search_key_text())


def service_env(
    service: str, pg_url: str, work: Path, *, broker: int, results: int
) -> dict[str, str]:
    """``service``'s environment from docker-compose.yml: PostgreSQL at ``pg_url``, Redis
    databases ``broker`` and ``results``, the local object store in ``work/objects``."""
    values = {
        "ARCHIVE_DATABASE_URL": pg_url,
        "ARCHIVE_BROKER_URL": f"redis://127.0.0.1:6379/{broker}",
        "ARCHIVE_RESULT_BACKEND": f"redis://127.0.0.1:6379/{results}",
        "ARCHIVE_SECRET_KEY": "benchmark",
        "ARCHIVE_S3_ENDPOINT": "unused:9000",
        "ARCHIVE_S3_ACCESS_KEY": "unused",
        "ARCHIVE_S3_SECRET_KEY": "unused",
    }
    mounts = {
        "/var/lib/archive/instance": work / "instance",
        "/var/lib/archive/index": work / "index",
        "/run/secrets": work / "secrets",
        "/tmp": work / "tmpfs",  # noqa: S108 - the container path compose mounts a tmpfs on
    }
    env = stack.environment(service, values, mounts)
    env.update(ARCHIVE_STORAGE="local", ARCHIVE_STORAGE_DIR=str(work / "objects"))
    return env


def staff(session: Session, rt: Runtime, password: str) -> None:
    """Departments SALES and OPS, the clerk ``clara`` (SALES) and the archivist ``arch``."""
    op = Caller.cli()
    for code in ("SALES", "OPS"):
        departments.create_department(session, op, code, code)
    for name, role, dept in (("clara", "clerk", "SALES"), ("arch", "archivist", "OPS")):
        users.create_user(
            session,
            op,
            username=name,
            password=password,
            display_name=name,
            department=dept,
            roles=[role],
            settings=rt.accounts,
        )


def staff_and_customer(rt: Runtime, password: str, name: str = "华夏贸易有限公司") -> int:
    """:func:`staff`, and one SALES customer that ``clara`` created: its id."""
    from archive_service.archive import customers

    with rt.db.unit_of_work() as s:
        staff(s, rt, password)
        clara = Caller.of(users.user_by_username(s, "clara"))
        return customers.create_customer(
            s, clara, {"name": name, "customer_type": "enterprise", "department": "SALES"}
        ).id
