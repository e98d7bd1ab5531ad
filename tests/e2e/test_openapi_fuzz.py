"""Fuzzing every operation of the OpenAPI document with schemathesis: whatever a caller with a
valid admin token sends, the service never answers with a server error (5xx).

The schema comes from the app's own /openapi.json. Requests go to one running service (SQLite)
whose caller is a registered volunteer holding every role, so commands get past `acting()`;
half of the generated ids are swapped for ids that exist, so domain rules run too.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from command_api_driver import Api, running, sqlite_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from services.api.app import create_app

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
EVERY_ROLE = ("admin", "supervisor", "volunteer", "fact_checker", "psychologist")
KNOWN: dict[str, list[str]] = {}
"""Ids that exist in the running service, by the body field that names them."""


def without_lifespan(app: ASGIApp) -> ASGIApp:
    """The app for schemathesis' client; the test owns the app's lifespan (start and stop)."""

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)

    return serve


documented = create_app(sqlite_settings(Path(tempfile.gettempdir()) / "corridor-fuzz-unused"))
schema = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(documented))


@schema.hook
def map_body(context: Any, body: Any) -> Any:
    """Swap about half of the generated ids (chosen by the id itself) for existing ones."""
    if not isinstance(body, dict):
        return body
    swapped = dict(body)
    for name, value in body.items():
        known = KNOWN.get(name)
        if known and isinstance(value, str) and _is_uuid(value) and uuid.UUID(value).int % 2:
            swapped[name] = known[uuid.UUID(value).int % len(known)]
        elif name == "resource_ids" and isinstance(value, list) and value:
            swapped[name] = KNOWN["resource_id"][: len(value)]
    return swapped


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Target:
    """The running service and the headers of a caller holding every role."""

    app: ASGIApp
    headers: dict[str, str]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with running(sqlite_settings(tmp_path_factory.mktemp("fuzz"))) as api:
        caller = api.register(*EVERY_ROLE)
        _seed_known_ids(api, caller.id)
        token = api.token(caller.id, *EVERY_ROLE)
        yield Target(app=without_lifespan(api.client.app),  # type: ignore[arg-type]
                     headers={"Authorization": f"Bearer {token}"})
    KNOWN.clear()


def _seed_known_ids(api: Api, caller_id: uuid.UUID) -> None:
    volunteer = api.register("volunteer", "psychologist")
    checker = api.register("fact_checker")
    resources = [api.verified(volunteer, checker), api.verified(volunteer, checker, "shelter",
                                                                capacity=3), api.report(volunteer)]
    cases = [api.taken_case(volunteer), api.open_case()]
    KNOWN.update({
        "case_id": [str(c) for c in cases],
        "resource_id": [str(r) for r in resources],
        "volunteer_id": [str(volunteer.id), str(checker.id), str(caller_id)],
        "psychologist_id": [str(volunteer.id)],
    })


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_service_fail(case: Any, target: Target) -> None:
    case.call_and_validate(app=target.app, headers=target.headers,
                           checks=[not_a_server_error])
