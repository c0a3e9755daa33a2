"""The JSON API (``/api/v1``): one blueprint per area, all registered here."""

from __future__ import annotations

from apiflask import APIFlask


def register(app: APIFlask) -> None:
    from archive_service.api.common import ErrorOut

    # Every error the OpenAPI declares has the body the error handlers give.
    app.config["HTTP_ERROR_SCHEMA"] = ErrorOut
    app.config["VALIDATION_ERROR_SCHEMA"] = ErrorOut

    from archive_service.api import (
        access,
        accounts,
        archive,
        audit,
        auth,
        categories,
        changes,
        checks,
        disposal,
        docs,
        duties,
        fixity,
        fonds,
        health,
        holds,
        notifications,
        paper,
        previews,
        sampling,
        statistics,
        transfers,
        viewing,
    )

    for module in (
        docs,
        auth,
        health,
        accounts,
        audit,
        archive,
        categories,
        fonds,
        holds,
        paper,
        previews,
        access,
        changes,
        checks,
        disposal,
        duties,
        fixity,
        sampling,
        transfers,
        viewing,
        notifications,
        statistics,
    ):
        app.register_blueprint(module.bp)
