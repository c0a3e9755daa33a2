"""``archive hold``: a case opened, added to, listed, shown and released at the console,
as the operator and ``--as`` a user whose rights then apply; refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archive_service.archive.models import Document, HoldCase
from archive_service.audit.models import AuditEvent
from archive_service.cli import main
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People


@pytest.fixture
def run_cli(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARCHIVE_CELERY_ALWAYS_EAGER", "1")
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def _held(rt: Runtime, doc_id: int) -> bool:
    with rt.db.read_only() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        return doc.on_hold


def test_a_case_at_the_console(run_cli: Any, rt: Runtime, people: People) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    customer = people.customer("clara")
    other = people.customer("clara", name="另一客户", credit_code="X2")
    doc = people.document("clara", customer, samples.pdf("合同"), accepted_by=("arch",))

    opened = run_cli(
        "hold", "open", "--name", "合同纠纷", "--basis", "dispute", "--reason", "诉前保全",
        "--reference", "(2025)沪01民初1号", "--document", str(doc), "--as", "arch",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    case_id = int(opened.output.split()[-1])
    assert _held(rt, doc)

    refused = run_cli("hold", "add", str(case_id), "--customer", str(other), "--as", "clara")
    assert refused.exit_code == 1 and "archivist" in refused.output
    added = run_cli("hold", "add", str(case_id), "--customer", str(other))  # the operator
    assert added.exit_code == 0, added.output
    nothing = run_cli("hold", "add", str(case_id))
    assert nothing.exit_code == 1 and "document_ids" in nothing.output

    listed = run_cli("hold", "list", "--state", "open", "--as", "arch")
    assert listed.exit_code == 0 and "合同纠纷" in listed.output and "1 cases" in listed.output
    row = next(line for line in listed.output.splitlines() if "合同纠纷" in line)
    assert row.split()[:4] == [str(case_id), "open", "1", "1"]
    shown = run_cli("hold", "show", str(case_id), "--as", "arch")
    assert f"document {doc}" in shown.output and "on hold" in shown.output
    assert "另一客户" in shown.output
    assert run_cli("hold", "list", "--as", "clara").exit_code == 1  # clerks read no cases

    no_reason = run_cli("hold", "release", str(case_id), "--reason", " ", "--as", "arch")
    assert no_reason.exit_code == 1 and _held(rt, doc)
    released = run_cli("hold", "release", str(case_id), "--reason", "和解结案", "--as", "arch")
    assert released.exit_code == 0, released.output
    assert not _held(rt, doc)
    again = run_cli("hold", "release", str(case_id), "--reason", "again", "--as", "arch")
    assert again.exit_code == 1 and "already released" in again.output
    assert "released" in run_cli("hold", "list", "--state", "released").output
    assert run_cli("hold", "show", "999999").exit_code == 1

    with rt.db.read_only() as s:
        case = s.get(HoldCase, case_id)
        assert case is not None and case.release_reason == "和解结案"
        actors = {
            e.action: e.actor
            for e in s.execute(
                select(AuditEvent).where(AuditEvent.target_type == "hold_case")
            ).scalars()
        }
    assert actors == {
        "hold.create": "arch",
        "hold.items_added": "operator",
        "hold.release": "arch",
    }
