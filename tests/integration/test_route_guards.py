"""Every route declares how it is guarded; every guarded API route refuses strangers.

A new route without ``public`` or ``signed_in`` fails here, so nothing can be
served outside the one access check by forgetting a decorator.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from archive_service.app import create_app
from archive_service.config import Settings


@pytest.fixture(scope="module")
def plain_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    inst = tmp_path_factory.mktemp("guards")
    return create_app(Settings(instance_dir=inst, secret_key="x").with_defaults())


def _routes(app: Any) -> list[tuple[str, str, Any]]:
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule, view))
    return out


def test_every_route_declares_its_guard(plain_app: Any) -> None:
    unguarded = [
        f"{m} {path}"
        for m, path, view in _routes(plain_app)
        if getattr(view, "_access", None) not in {"public", "signed_in"}
    ]
    assert unguarded == []


PUBLIC_API = {
    "/api/v1/health",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/auth/token",
    "/api/v1/signing-key",  # the public key that checks destruction records
}


def test_every_signed_in_api_route_is_401_without_a_token(plain_app: Any) -> None:
    client = plain_app.test_client()
    checked = 0
    for method, path, view in _routes(plain_app):
        if not path.startswith("/api/") or getattr(view, "_access", None) != "signed_in":
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", path)
        resp = client.open(url, method=method, json={})
        assert resp.status_code == 401, f"{method} {path} -> {resp.status_code}"
        assert resp.get_json()["error"]["code"] == "not_authenticated"
        checked += 1
    assert checked >= 8


def test_public_api_routes_are_exactly_the_known_ones(plain_app: Any) -> None:
    public = {
        path
        for _m, path, view in _routes(plain_app)
        if path.startswith("/api/") and getattr(view, "_access", None) == "public"
    }
    assert public == PUBLIC_API


def test_every_signed_in_web_route_redirects_strangers_to_login(plain_app: Any) -> None:
    client = plain_app.test_client()
    for method, path, view in _routes(plain_app):
        if path.startswith("/api/") or getattr(view, "_access", None) != "signed_in":
            continue
        if method != "GET":
            continue  # POSTs are refused by CSRF first; GETs show the guard itself
        url = re.sub(r"<(?:\w+:)?\w+>", "1", path)
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
