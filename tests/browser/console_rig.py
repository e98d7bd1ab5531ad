"""The console test rig: a client of the running server (tokens, commands, people, cases,
resources), signing in through the console's page, and screenshots (SCREENSHOTS)."""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page

from services.auth import TokenIssuer

SECRET = "browser-test-secret-long-enough-for-hs256"
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / os.environ.get("CORRIDOR_SCREENSHOTS_DIR", "tests/browser/screenshots")
"""Where every run saves its screenshots (ignored by git, so a test run leaves the tree clean);
`CORRIDOR_SCREENSHOTS_DIR=docs/console` refreshes the ones the README shows."""
INTAKE = {"safe_now": True, "region": "Kharkiv", "destination": "Lviv",
          "contact_channel": "telegram", "name": "Olena Kovalenko",
          "contact_handle": "@olena_k", "languages": ["uk"]}


@dataclass(frozen=True)
class Member:
    id: str
    token: str


class Network:
    """A client of the running server: tokens, commands, people, cases and resources."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.issuer = TokenIssuer(SECRET)
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.admin = self.issuer.issue("admin", ["admin"])

    def command(self, path: str, token: str, **fields: Any) -> dict[str, Any]:
        body = {"command_id": str(uuid.uuid4()), **fields}
        response = self.http.post(f"/commands/{path}", json=body,
                                  headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    def read(self, path: str, token: str, **params: Any) -> Any:
        response = self.http.get(path, params=params,
                                 headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()

    def register(self, *roles: str, languages: list[str] | None = None,
                 time_zone: str = "Europe/Kyiv") -> Member:
        volunteer_id = str(uuid.uuid4())
        self.command("volunteers/register", self.admin, volunteer_id=volunteer_id,
                     display_name=f"Volunteer {volunteer_id[:6]}", roles=list(roles),
                     languages=languages or ["en", "uk"], time_zone=time_zone)
        self.command("volunteers/log-training", self.admin, volunteer_id=volunteer_id,
                     minutes=300, topic="basics")
        return Member(volunteer_id, self.issuer.issue(volunteer_id, list(roles)))

    def open_case(self, **intake: Any) -> str:
        case_id = str(uuid.uuid4())
        self.command("cases/open", self.admin, case_id=case_id, person_id=str(uuid.uuid4()),
                     intake={**INTAKE, **intake})
        return case_id

    def report(self, by: Member, kind: str, **fields: Any) -> str:
        resource_id = str(uuid.uuid4())
        self.command("resources/report", by.token, resource_id=resource_id, kind=kind,
                     region=fields.pop("region", "Kharkiv"), **fields)
        return resource_id

    def sign_in_link(self, member: Member, roles: list[str]) -> str:
        """What `corridor token --link` prints, for this server."""
        code = self.issuer.issue_sign_in(member.id, roles)
        return f"{self.base_url}/console/#sign-in={code}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_ready(base_url: str, server: Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"corridor serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"corridor serve did not become ready: {log.read_text()[-2000:]}")


def signed_in(context: BrowserContext, network: Network, token: str, route: str = "") -> Page:
    """A page of the console, signed in by pasting a token, then at `route` (e.g. '#/board')."""
    page = context.new_page()
    page.goto(f"{network.base_url}/console/")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator("header.top nav").wait_for()
    if route:
        page.goto(f"{network.base_url}/console/{route}")
    return page


def screenshot(page: Page, name: str) -> None:
    """<name>-360.png and -1280.png in SCREENSHOTS (the viewport is set back afterwards)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 360, "height": 780}
    for width, height in ((360, 780), (1280, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)  # one layout pass after the resize
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)
