"""The API's documentation in Chromium: Swagger UI renders every operation from our own
origin, with no Content-Security-Policy violation and no request elsewhere."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow


def test_docs_render_the_operations_under_the_csp(live_server: Any, browser: Any) -> None:
    base, _rt = live_server
    page = browser.new_page()
    violations: list[str] = []
    elsewhere: list[str] = []
    # Installed by the browser, not by the page: the CSP does not apply to it.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.on(
        "console",
        lambda m: (
            violations.append(m.text)
            if "CSP violation" in m.text or "Content Security Policy" in m.text
            else None
        ),
    )

    def only_ours(route: Any) -> None:
        if urlsplit(route.request.url).netloc != urlsplit(base).netloc:
            elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", only_ours)
    resp = page.goto(f"{base}/api/v1/docs")
    assert resp is not None and resp.status == 200
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=20_000)
    operations = page.locator(".opblock").count()
    assert operations >= 64
    assert page.locator(".opblock-summary-path", has_text="/api/v1/documents/{document_id}").count()
    page.locator(".opblock-summary", has_text="/api/v1/health").first.click()
    page.wait_for_selector(".responses-table", timeout=10_000)
    assert violations == []
    assert elsewhere == []
    page.close()
