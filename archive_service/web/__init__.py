"""The HTML interface: one blueprint per area, registered here."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from archive_service.web import access, admin, archive, audit, auth, changes, home

    for module in (home, auth, admin, audit, archive, access, changes):
        app.register_blueprint(module.bp)
