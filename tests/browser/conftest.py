"""A real server and Debian's Chromium driven by Playwright.

The server is the app served by waitress on a free port in this process, on
the embedded default (SQLite, local encrypted store) in a temporary folder.
Chromium is ``/usr/bin/chromium`` (``ARCHIVE_TEST_CHROMIUM`` overrides);
Playwright's own browser download is not used.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive_service.config import Settings
from archive_service.runtime import Runtime
from tests.conftest import People, unavailable

CHROMIUM = os.environ.get("ARCHIVE_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, Runtime]]:
    import waitress

    from archive_service.app import create_app
    from archive_service.cli.start import initialise

    settings = Settings(
        instance_dir=tmp_path / "instance",
        secret_key="browser-tests",
        admin_password="browser root pass 1",
        celery_always_eager=True,  # background jobs run in the request that queues them
    ).with_defaults()
    rt, _ = initialise(settings)
    app = create_app(settings, runtime=rt)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", rt
    finally:
        server.close()
        rt.close()


@pytest.fixture
def live_people(live_server: tuple[str, Runtime]) -> People:
    return People(live_server[1])


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        unavailable(f"Chromium not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def sign_in(browser: Any, base: str, username: str, password: str) -> Any:
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#submit")
    page.wait_for_url(base + "/")
    return page
