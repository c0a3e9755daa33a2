"""The start page after sign-in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from archive_service.http import signed_in

bp = Blueprint("web_home", __name__)


@bp.get("/")
@signed_in
def index() -> Any:
    return render_template("home.html")
