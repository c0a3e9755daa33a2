"""The HTML interface: one blueprint per area, registered here."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from archive_service.web import (
        access,
        admin,
        archive,
        audit,
        auth,
        changes,
        checks,
        disposal,
        duties,
        fixity,
        holds,
        home,
        importing,
        notifications,
        paper,
        sampling,
        search,
        statistics,
        transfers,
        viewing,
    )

    for module in (
        home,
        auth,
        admin,
        audit,
        archive,
        holds,
        importing,
        search,
        access,
        changes,
        checks,
        disposal,
        transfers,
        paper,
        duties,
        sampling,
        fixity,
        viewing,
        notifications,
        statistics,
    ):
        app.register_blueprint(module.bp)
