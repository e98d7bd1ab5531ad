"""Fuzzing every operation of the OpenAPI document with schemathesis: whatever a caller sends,
the service never answers with a server error (5xx), and every answer is one the document
declares: its status code, its content type, and a body that matches the declared schema.
Other services generate their clients from this document, so it must be exact (issue 25).

The schema comes from the app's own /openapi.json. Requests go to one running service (SQLite)
with valid tokens for six kinds of caller (drawn per request): registered volunteers holding
admin, supervisor, volunteer, fact_checker and auditor, and an intake service. Requests are
generated both valid and invalid (schemathesis' positive and negative modes); half of the
generated ids are swapped for ids that exist, so domain rules run too.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from command_api_driver import Api, running, sqlite_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from services.api.app import create_app
from services.api.queries import get_service

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
ROLES = ("admin", "supervisor", "volunteer", "fact_checker", "auditor", "intake")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
"""No 5xx; only documented status codes and content types; bodies that match their schema;
and what the document says is invalid is refused."""
EXAMPLES_PER_OPERATION = 60
"""Generated requests per operation beyond schemathesis' coverage cases (boundary values,
wrong types, missing fields, other content types and methods): over some 70 operations about
9,000 requests a run, which took a minute and a half on a shared 2-core machine. The draw is
derandomized (hypothesis draws the same examples for the same document), so a run in CI is
the run that passed here; a change to an operation's schema changes what is drawn for it."""
KNOWN: dict[str, list[str]] = {}
"""Ids that exist in the running service, by the body field that names them."""
ANSWERED: Counter[tuple[str, int]] = Counter()
"""Requests sent, by role and status answered (printed at the end: run with -s to see it)."""


def without_lifespan(app: ASGIApp) -> ASGIApp:
    """The app for schemathesis' client; the test owns the app's lifespan (start and stop)."""

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)

    return serve


documented = create_app(sqlite_settings(Path(tempfile.gettempdir()) / "corridor-fuzz-unused"))
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", without_lifespan(documented),
    config=SchemathesisConfig.from_dict({"generation": {
        "mode": "all",  # valid and invalid requests
        # The test sends each role's token itself, and the document does not say that
        # unknown query parameters are refused (they are ignored, as HTTP APIs do).
        "with-security-parameters": False, "allow-extra-parameters": False}}))


@schema.hook
def map_body(context: Any, body: Any) -> Any:
    """Swap about half of the generated ids (chosen by the id itself) for existing ones; only
    well-formed ids, so that a request generated invalid stays invalid."""
    if not isinstance(body, dict):
        return body
    swapped = dict(body)
    for name, value in body.items():
        if name == "resource_ids" and isinstance(value, list):
            swapped[name] = [_known("resource_id", item) for item in value]
        else:
            swapped[name] = _known(name, value)
    return swapped


def _known(name: str, value: Any) -> Any:
    """An existing id in place of a generated `value` of field `name`, for every other id."""
    known = KNOWN.get(name)
    if not known or not isinstance(value, str) or not _is_uuid(value):
        return value
    number = uuid.UUID(value).int
    return known[number % len(known)] if number % 2 else value


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@dataclass(frozen=True)
class Target:
    """The running service and the headers of a caller of each role."""

    app: ASGIApp
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with running(sqlite_settings(tmp_path_factory.mktemp("fuzz"))) as api:
        callers = {role: api.register(role) for role in ROLES if role != "intake"}
        _seed_known_ids(api, [caller.id for caller in callers.values()])
        tokens = {role: caller.token for role, caller in callers.items()}
        tokens["intake"] = api.token("intake-bot", "intake")
        # Live board streams end at once, as when the server shuts down, so that a request
        # to /board/stream is answered in full (headers, a first frame) instead of for 5 min.
        portal = api.client.portal  # the app's event loop
        assert portal is not None
        portal.call(get_service(api.runtime).begin_closing)
        yield Target(app=without_lifespan(api.client.app),  # type: ignore[arg-type]
                     headers={role: {"Authorization": f"Bearer {token}"}
                              for role, token in tokens.items()})
    KNOWN.clear()
    by_status = Counter(status for (_, status) in ANSWERED.elements())
    by_role = Counter(role for (role, _) in ANSWERED.elements())
    print(f"\nfuzz: {sum(ANSWERED.values())} requests; by status {dict(sorted(by_status.items()))}"
          f"; by role {dict(sorted(by_role.items()))}")
    record_run(by_status, by_role)


FUZZ_RESULTS = Path(__file__).resolve().parents[1] / "faults" / "results" / "fuzz.json"
"""The run's figures for docs/reliability.md (python -m tests.faults.report), git-ignored."""
VIOLATIONS: list[str] = []
"""Requests whose answer failed a check: the operation and the first line of why."""
STARTED = time.time()


def record_run(by_status: Counter[int], by_role: Counter[str]) -> None:
    FUZZ_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    FUZZ_RESULTS.write_text(json.dumps({
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.time() - STARTED, 1),
        "requests": sum(by_status.values()),
        "server_errors": sum(n for status, n in by_status.items() if status >= 500),
        "schema_violations": len(VIOLATIONS), "violations": VIOLATIONS[:20],
        "by_status": {str(k): v for k, v in sorted(by_status.items())},
        "by_role": dict(sorted(by_role.items())),
        "examples_per_operation": EXAMPLES_PER_OPERATION,
        "command": "bash deploy/test.sh tests/e2e/test_openapi_fuzz.py -s",
    }, indent=2))


def _seed_known_ids(api: Api, caller_ids: list[uuid.UUID]) -> None:
    volunteer = api.register("volunteer", "psychologist")
    checker = api.register("fact_checker")
    resources = [api.verified(volunteer, checker), api.verified(volunteer, checker, "shelter",
                                                                capacity=3), api.report(volunteer)]
    cases = [api.taken_case(volunteer), api.open_case()]
    KNOWN.update({
        "case_id": [str(c) for c in cases],
        "resource_id": [str(r) for r in resources],
        "volunteer_id": [str(volunteer.id), str(checker.id), *map(str, caller_ids)],
        "psychologist_id": [str(volunteer.id)],
    })


def caller_of(case: Any) -> str:
    """The role a case is sent as: drawn from what it sends, so a rerun sends it alike and
    every role gets a share of each operation's cases."""
    sent = repr((case.path_parameters, case.query, case.body)).encode()
    return ROLES[zlib.crc32(sent) % len(ROLES)]


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_answer_is_one_the_document_declares(case: Any, target: Target) -> None:
    role = caller_of(case)
    try:
        response = case.call(app=target.app, headers=target.headers[role])
        ANSWERED[role, response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=target.headers[role])
    except Exception as failed:
        first = (str(failed).strip().splitlines() or [type(failed).__name__])[0]
        VIOLATIONS.append(f"{case.method} {case.path} as {role}: {first}")
        raise
