"""Validly signed tokens with malformed claims, over HTTP: each is a 401 problem naming the
claim, on the command fast path and on the queries alike, and no claim set makes a 5xx
(issue 25: `"roles": null` got 500 text/plain, a 64 KB or NUL subject became an event's actor,
any issuer passed)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from command_api_driver import AUTH_SECRET, INTAKE, Api, running, sqlite_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.settings import Settings

PROBLEM = "application/problem+json"


def sign(claims: Any) -> str:
    """`claims` written as JSON as they are (no check by the signing library) and signed with
    the service's own secret."""
    return jwt.PyJWS().encode(json.dumps(claims).encode(), AUTH_SECRET, algorithm="HS256")


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "intake-bot", "roles": ["admin"], "iss": "corridor", "aud": "corridor",
            "iat": now, "exp": now + 3600, **changes}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder: Path = tmp_path_factory.mktemp("hostile-tokens")
    with running(sqlite_settings(folder, auth_secret=AUTH_SECRET)) as started:
        yield started


def open_case(api: Api, token: str) -> Any:
    body = {"command_id": str(uuid.uuid4()), "case_id": str(uuid.uuid4()),
            "person_id": str(uuid.uuid4()), "intake": INTAKE}
    return api.client.post("/commands/cases/open", json=body,
                           headers={"Authorization": f"Bearer {token}"})


def read_board(api: Api, token: str) -> Any:
    return api.client.get("/board", headers={"Authorization": f"Bearer {token}"})


NAMED_CASES = [
    pytest.param("roles", None, id="roles-null"),
    pytest.param("roles", 5, id="roles-number"),
    pytest.param("roles", {"admin": True}, id="roles-object"),
    pytest.param("sub", "x" * 65_536, id="sub-64KB"),
    pytest.param("sub", "admin\x00\x00", id="sub-NUL"),
    pytest.param("iss", "someone-else", id="wrong-issuer"),
    pytest.param("aud", "billing", id="wrong-audience"),
]


@pytest.mark.parametrize(("claim", "value"), NAMED_CASES)
def test_a_command_with_a_malformed_claim_is_a_401_problem_naming_it(
        api: Api, claim: str, value: Any) -> None:
    stored = api.event_count()

    answer = open_case(api, sign(claims(**{claim: value})))

    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["claim"] == claim
    assert claim in answer.json()["detail"]
    assert api.event_count() == stored


@pytest.mark.parametrize(("claim", "value"), NAMED_CASES)
def test_a_read_with_a_malformed_claim_is_a_401_problem_naming_it(
        api: Api, claim: str, value: Any) -> None:
    answer = read_board(api, sign(claims(**{claim: value})))

    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["claim"] == claim


def test_a_token_from_corridor_token_still_works(api: Api) -> None:
    token = api.runtime.tokens.issue("intake-bot", ["intake", "supervisor"])

    assert open_case(api, token).status_code == 200
    assert read_board(api, token).status_code == 200


def test_the_issuer_and_audience_come_from_the_settings(tmp_path: Path) -> None:
    ours = {"token_issuer": "corridor-eu", "token_audience": "corridor-eu-api"}
    with running(sqlite_settings(tmp_path, auth_secret=AUTH_SECRET, **ours)) as eu:
        default_token = sign(claims())
        eu_token = sign(claims(iss="corridor-eu", aud="corridor-eu-api"))

        assert read_board(eu, default_token).json()["claim"] == "iss"
        assert read_board(eu, eu_token).status_code == 200
        assert read_board(eu, eu.runtime.tokens.issue("admin", ["admin"])).status_code == 200


# --- any claim set at all --------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=6)
NOW = int(time.time())
CLAIM_VALUES = {
    "sub": st.sampled_from(["admin", "intake-bot", str(uuid.uuid4())]) | st.text(max_size=200)
    | JSON_VALUES,
    "roles": st.lists(st.sampled_from(["admin", "intake", "volunteer", "supervisor", "root"]),
                      max_size=9) | JSON_VALUES,
    "iss": st.sampled_from(["corridor", "Corridor", ""]) | JSON_VALUES,
    "aud": st.sampled_from(["corridor", ["corridor", "x"], []]) | JSON_VALUES,
    "iat": st.integers(NOW - 10**6, NOW + 10**6) | JSON_VALUES,
    "exp": st.integers(NOW - 10**6, NOW + 10**9) | st.sampled_from([10**30, -(10**30)])
    | JSON_VALUES,
    "nbf": st.integers(NOW - 10**6, NOW + 10**6) | JSON_VALUES,
    "jti": JSON_VALUES,
}
CLAIM_SETS = st.fixed_dictionaries({}, optional=CLAIM_VALUES) | JSON_VALUES


ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}")
"""What an actor recorded on an event looks like: a volunteer's UUID or a service's name."""


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(claim_set=CLAIM_SETS)
def test_no_claim_set_makes_a_server_error(api: Api, claim_set: Any) -> None:
    token = sign(claim_set)
    before = api.event_count()

    for answer in (open_case(api, token), read_board(api, token)):
        assert answer.status_code < 500, answer.text
        if answer.status_code == 401:
            assert answer.headers["content-type"] == PROBLEM
            assert answer.json()["detail"].startswith("invalid token")

    for event in api.stored_events()[before:]:  # whatever got in names a proper actor
        assert ACTOR.fullmatch(event.meta.actor), event.meta.actor


def test_settings_default_to_what_corridor_token_writes() -> None:
    defaults = Settings()
    assert (defaults.token_issuer, defaults.token_audience) == ("corridor", "corridor")
