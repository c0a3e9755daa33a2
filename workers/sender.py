"""The job sender a process hands its runtime (:func:`connect`): Celery's client, or —
with ``ARCHIVE_CELERY_ALWAYS_EAGER`` (tests, the browser tests' server) — the same task
bodies run here and now against this process's runtime."""

from __future__ import annotations

from typing import Any

from archive_service.runtime import Runtime
from workers.celery_app import CelerySender, celery
from workers.context import use_runtime


class EagerSender:
    """Runs the task body at once, in this process, against ``rt``."""

    eager = True

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        celery.loader.import_default_modules()  # registers workers.tasks on the app

    def send(self, task: str, *args: Any) -> None:
        use_runtime(self._rt)
        celery.tasks[f"workers.tasks.{task}"](*args)


def connect(rt: Runtime) -> Runtime:
    """Give ``rt`` the sender its settings call for; returns it."""
    rt.jobs = EagerSender(rt) if rt.settings.celery_always_eager else CelerySender(rt.settings)
    return rt
