"""The quality target for numbering: 200 concurrent acceptances on PostgreSQL give
200 distinct numbers with no gap (SQLite serialises writers and is covered elsewhere)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from archive_service.accounts.users import user_by_username
from archive_service.archive import customers, documents, review
from archive_service.config import Settings
from archive_service.policy import Caller
from archive_service.runtime import Runtime, build_runtime
from storage.keyring import Keyring
from tests.conftest import People, _reset_pg

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_rt(pg_schema_url: str, tmp_path: Path) -> Iterator[Runtime]:
    _reset_pg(pg_schema_url)
    runtime = build_runtime(
        Settings(
            instance_dir=tmp_path,
            database_url=pg_schema_url,
            secret_key="x",
            keyring=Keyring.generate().to_json(),
        ).with_defaults()
    )
    yield runtime
    runtime.close()


def test_200_concurrent_acceptances_on_postgresql(pg_rt: Runtime) -> None:
    rt = pg_rt
    people = People(rt)
    people.user("clara", "clerk", department="SALES")
    people.user("arch1", "archivist", department="OPS")
    with rt.db.unit_of_work() as s:
        clerk = Caller.of(user_by_username(s, "clara"))
        customer = customers.create_customer(
            s, clerk, {"name": "并发客户", "customer_type": "enterprise", "department": "SALES"}
        )
        ids = []
        for i in range(200):
            doc = documents.upload(
                s,
                clerk,
                rt.vault,
                documents.Upload(
                    customer_id=customer.id,
                    category="other.event",
                    title=f"事件 {i}",
                    retention_class="short",
                    document_date=None,
                    filename=f"{i}.txt",
                    stream=io.BytesIO(f"event {i}".encode()),
                ),
                rt.archive,
            )
            ids.append(doc.id)

    def accept(doc_id: int) -> str:
        with rt.db.unit_of_work() as s:
            archivist = Caller.of(user_by_username(s, "arch1"))
            number = review.accept(s, archivist, doc_id, rt.archive, rt.checking).archive_number
            assert number is not None
            return number

    with ThreadPoolExecutor(max_workers=16) as pool:
        numbers = list(pool.map(accept, ids))
    year = date.today().year
    assert len(set(numbers)) == 200
    assert sorted(numbers) == sorted(f"K001{year}{i:02d}" for i in range(1, 201))


def test_a_session_that_counted_before_sees_the_counter_others_moved(rt: Runtime) -> None:
    """Sessions keep what they loaded after a commit (expire_on_commit=False): the locked
    read must refresh the counter, or a session counting twice repeats a number another
    session took in between."""
    from archive_service.archive.counters import next_in_scope

    with rt.db.session() as mine:
        first = next_in_scope(mine, "2026-HT")
        mine.commit()
        with rt.db.unit_of_work() as other:
            taken = next_in_scope(other, "2026-HT")
        again = next_in_scope(mine, "2026-HT")
        mine.commit()
    assert (first, taken, again) == (1, 2, 3)
