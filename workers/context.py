"""One runtime per worker process, built on first use from the environment."""

from __future__ import annotations

from archive_service.config import Settings
from archive_service.runtime import Runtime, build_runtime
from workers.celery_app import CelerySender

_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(Settings.from_env())
        _runtime.jobs = CelerySender(_runtime.settings)
    return _runtime


def use_runtime(rt: Runtime | None) -> None:
    """Let tests (and the eager sender) run tasks against their own runtime."""
    global _runtime
    _runtime = rt
