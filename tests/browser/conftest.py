"""The console in a real browser: `corridor serve` (embedded SQLite) in a process of its own,
Debian's Chromium driven by Playwright for Python (deploy/test.sh installs Chromium when it
is missing; Playwright's own browser download is never used), tokens signed with the
server's secret, and commands sent over HTTP as any other client would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_rig import SECRET, Network, free_port, wait_until_ready
from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = os.environ.get("CORRIDOR_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """`corridor serve` on the embedded store, in a process of its own."""
    folder = tmp_path_factory.mktemp("console")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRIDOR_")}
    env.update(CORRIDOR_STORE="sqlite", CORRIDOR_DATA_DIR=str(folder / "data"),
               CORRIDOR_AUTH_SECRET=SECRET)
    log = (folder / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "services.cli.main", "serve", "--host",
                               "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, server, folder / "serve.log")
        started = Network(base_url)
        yield started
        started.http.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (no sandbox when running as root, as in CI). Per module:
    Playwright's sync API runs an event loop on this thread while it is open, and the
    asyncio tests that run after these need the thread to themselves again."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: deploy/test.sh installs Debian's chromium "
                           "(or set CORRIDOR_TEST_CHROMIUM)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport={"width": 360, "height": 780}, locale="en-US")
    yield opened
    opened.close()


@pytest.fixture
def browser_context_two(browser: Browser) -> Iterator[BrowserContext]:
    """A second, separate browser (its own storage), e.g. for a link used twice."""
    opened = browser.new_context(viewport={"width": 360, "height": 780}, locale="en-US")
    yield opened
    opened.close()
