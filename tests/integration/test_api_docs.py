"""``/api/v1/docs`` serves the vendored Swagger UI from our own origin, under the app's CSP."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from archive_service.app import CSP, create_app
from archive_service.config import Settings

VENDOR = Path(__file__).parents[2] / "archive_service/web/static/vendor/swagger-ui"
# swagger-ui-dist 5.35.0, as packed by npm (VERSION.md)
PINNED = {
    "swagger-ui-bundle.js": "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2",
    "swagger-ui.css": "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    inst = tmp_path_factory.mktemp("docs")
    return create_app(Settings(instance_dir=inst, secret_key="x").with_defaults()).test_client()


def test_the_docs_page_loads_only_our_own_scripts_and_styles(client: Any) -> None:
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    assert resp.headers["Content-Security-Policy"] == CSP
    html = resp.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" for _attrs, body in scripts)  # no inline script
    sources = [re.search(r'src="([^"]+)"', attrs)[1] for attrs, _ in scripts]  # type: ignore[index]
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert "<style" not in html and " style=" not in html
    assert sources and styles
    for url in sources + styles:
        assert url.startswith("/static/"), url  # same origin, no CDN
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["Content-Security-Policy"] == CSP
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in sources
    assert 'data-spec-url="/api/v1/openapi.json"' in html


def test_the_vendored_files_are_the_pinned_release() -> None:
    for name, digest in PINNED.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert (VENDOR / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert "5.35.0" in (VENDOR / "VERSION.md").read_text()
