"""Schemathesis against the service's own OpenAPI, in-process through the WSGI app.

Every operation is called with generated input (valid and invalid) as an admin on SQLite
and as a clerk on PostgreSQL. No answer may be a server error, every answer's status
must be one the operation declares, and its body must fit the declared schema.

The run is bounded by examples, not by time: ``MAX_EXAMPLES`` per operation and a
generous per-example deadline that only a hang would reach.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import samples
from tests.conftest import People, bearer, token_for

MAX_EXAMPLES = 5  # per operation; the run's time is mostly per operation, not per example
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_caller(people: People, settings: Any) -> str:
    """A small archive (a customer, an accepted and a submitted document) so that the low
    ids the generator likes reach real records. The caller is an admin on SQLite (every
    operation reachable, on the embedded default) and a clerk on PostgreSQL (the refusals, on
    the production database): one run per database keeps CI within its limit."""
    people.department("OPS", "运营部")
    people.user("root", "admin", department=None)
    people.user("clara", "clerk", department="SALES")
    people.user("arch1", "archivist", department="OPS")
    customer = people.customer("clara")
    people.document("clara", customer, samples.pdf("licence"), accepted_by=("arch1",))
    people.document("clara", customer, samples.pdf("contract"), title="合同")
    return "root" if settings.database_url.startswith("sqlite") else "clara"


@pytest.fixture
def api_schema(app: Any, fuzz_caller: str) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=timedelta(seconds=10),
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_holds_to_its_openapi(case: Any, client: Any, fuzz_caller: str) -> None:
    # A token of its own for each call: a generated DELETE /auth/token revokes the one it used.
    headers = bearer(token_for(client, fuzz_caller))
    case.call_and_validate(headers=headers, checks=CHECKS)
