"""Headless Chromium (Debian's package) driven by Playwright, against a live server.

Playwright's own browser download is not used: ``/usr/bin/chromium`` is. The tests
skip, with the reason, only when that binary is missing; CI installs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
# Set to a folder to save screenshots of the main pages (docs/screenshots is made so).
SCREENSHOTS = os.environ.get("OTPINBOX_SCREENSHOTS", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


# Package scope: Playwright's sync API keeps an event loop running in the main thread
# while it lives, which breaks every later test that calls asyncio.run().
@pytest.fixture(scope="package")
def chromium():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def site(settings, clean_db, notifier):  # type: ignore[no-untyped-def]
    """The app with CSRF on, served over HTTP on 127.0.0.1; its base URL."""
    from werkzeug.serving import make_server

    from web import create_app

    app = create_app(settings, db=clean_db, notifier=notifier)
    app.config.update(TESTING=True)
    server = make_server("127.0.0.1", settings.web_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{settings.web_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


class Canary:
    """An HTTP origin that only counts: any request here is a leak."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    found = Canary()
    try:
        yield found
    finally:
        found.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
