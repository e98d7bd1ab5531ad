"""Drives the running service over HTTP the way a client does (tokens, commands), and looks
at what ended up in the event store."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import Runtime
from services.settings import Settings
from services.storage.sealing import new_master_key

AUTH_SECRET = "test-secret-long-enough-for-hs256-keys"
TRAINING_TO_BE_CLEARED = 300
INTAKE = {"safe_now": True, "region": "Kharkiv", "destination": "Lviv",
          "contact_channel": "telegram", "name": "Olena K", "contact_handle": "@olena"}
T = TypeVar("T")


def sqlite_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The embedded store in a folder of its own (secrets are created there on first use)."""
    return Settings(store="sqlite", data_dir=data_dir, kafka_bootstrap=None, **overrides)


def postgres_settings(dsn: str, **overrides: Any) -> Settings:
    """PostgreSQL with a fresh master key and a fixed token secret."""
    return Settings(store="postgres", pg_dsn=dsn, master_key=new_master_key(),
                    auth_secret=AUTH_SECRET, kafka_bootstrap=None, **overrides)


def jsonable(value: Any) -> Any:
    """UUIDs as strings, recursively, so test code can pass ids as they are."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def eventually(read: Callable[[], T], until: Callable[[T], bool], timeout: float = 5.0) -> T:
    """Read until the value satisfies `until` or the time is up; return the last value read."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@dataclass(frozen=True)
class Member:
    """A registered volunteer and a token naming them."""

    id: uuid.UUID
    token: str


class Api:
    """A client of one running service, with a view into its event store."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        self.admin_token = self.token("admin", "admin")

    def token(self, subject: object, *roles: str) -> str:
        return self.runtime.tokens.issue(str(subject), list(roles))

    def send(self, path: str, token: str | None, **fields: Any) -> httpx.Response:
        """POST a command with a fresh command id (unless `command_id` is given)."""
        return self.send_body(path, token, {"command_id": uuid.uuid4(), **fields})

    def send_body(self, path: str, token: str | None, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return self.client.post(f"/commands/{path}", json=jsonable(body), headers=headers)

    def accepted(self, path: str, token: str | None, **fields: Any) -> dict[str, Any]:
        response = self.send(path, token, **fields)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    # --- the network's people and things -------------------------------------------------

    def register(self, *roles: str, trained: bool = True) -> Member:
        """A registered volunteer holding `roles` (default: volunteer), trained unless told."""
        roles = roles or ("volunteer",)
        volunteer_id = uuid.uuid4()
        self.accepted("volunteers/register", self.admin_token, volunteer_id=volunteer_id,
                      display_name=f"Volunteer {volunteer_id.hex[:6]}", roles=list(roles))
        if trained:
            self.accepted("volunteers/log-training", self.admin_token,
                          volunteer_id=volunteer_id, minutes=TRAINING_TO_BE_CLEARED,
                          topic="basics")
        return Member(volunteer_id, self.token(volunteer_id, *roles))

    def open_case(self, **intake: Any) -> uuid.UUID:
        """A case of a person of its own (a handle of their own: nobody asks twice unless
        a test gives two cases the same handle, phone or name and birth year)."""
        case_id = uuid.uuid4()
        own = {"contact_handle": f"@olena_{case_id.hex[:12]}"}
        self.accepted("cases/open", self.admin_token, case_id=case_id,
                      person_id=uuid.uuid4(), intake={**INTAKE, **own, **intake})
        return case_id

    def taken_case(self, by: Member) -> uuid.UUID:
        case_id = self.open_case()
        self.accepted("cases/take", by.token, case_id=case_id)
        return case_id

    def report(self, by: Member, kind: str = "transport", **fields: Any) -> uuid.UUID:
        resource_id = uuid.uuid4()
        self.accepted("resources/report", by.token, resource_id=resource_id, kind=kind,
                      region="Kharkiv", details=f"a {kind}", **fields)
        return resource_id

    def verified(self, by: Member, checker: Member, kind: str = "transport",
                 **fields: Any) -> uuid.UUID:
        resource_id = self.report(by, kind, **fields)
        self.accepted("resources/verify", checker.token, resource_id=resource_id)
        return resource_id

    # --- the event store -----------------------------------------------------------------

    def stored_events(self) -> list[Any]:
        """Every stored event, decoded, in store order."""
        app = self.runtime.app
        return [app.mapper.to_domain_event(n)
                for n in app.recorder.select_notifications(start=1, limit=1_000_000)]

    def event_count(self) -> int:
        return len(self.runtime.app.recorder.select_notifications(start=1, limit=1_000_000))

    def aggregate(self, aggregate_id: uuid.UUID) -> Any:
        return self.runtime.app.repository.get(aggregate_id)


@contextmanager
def running(settings: Settings) -> Iterator[Api]:
    """The service started (lifespan and all) on `settings`, stopped afterwards."""
    with TestClient(create_app(settings)) as client:
        yield Api(client)
