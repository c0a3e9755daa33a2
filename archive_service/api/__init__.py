"""The JSON API (``/api/v1``): one blueprint per area, all registered here."""

from __future__ import annotations

from apiflask import APIFlask


def register(app: APIFlask) -> None:
    from archive_service.api import (
        access,
        accounts,
        archive,
        audit,
        auth,
        changes,
        disposal,
        health,
        viewing,
    )

    for module in (
        auth,
        health,
        accounts,
        audit,
        archive,
        access,
        changes,
        disposal,
        viewing,
    ):
        app.register_blueprint(module.bp)
