"""Liveness and each dependency's state; no authentication."""

from __future__ import annotations

from typing import Any

from apiflask.fields import Dict, String

from archive_service import __version__
from archive_service.api.common import Out, blueprint, errors
from archive_service.health import run_checks
from archive_service.http import public, runtime

bp = blueprint("health", "Health")


class HealthOut(Out):
    status = String(metadata={"description": "ok, degraded or down"})
    version = String()
    checks = Dict(metadata={"description": "each dependency: ok, and what failed"})


DOWN: dict[Any, Any] = {
    503: {
        "description": "the service cannot serve (its database or object store is down)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HealthOut"}}},
    }
}


@bp.get("/health")
@bp.doc(responses={**DOWN, **errors(401)})
@bp.output(HealthOut)
@public
def health() -> Any:
    """200 when the service can serve (database and object store up), else 503."""
    checks, can_serve = run_checks(runtime())
    degraded = not all(c["ok"] for c in checks.values())
    status = "ok" if not degraded else ("degraded" if can_serve else "down")
    return {"status": status, "version": __version__, "checks": checks}, (200 if can_serve else 503)
