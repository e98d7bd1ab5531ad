"""On the command topic a validly signed token with a malformed claim is dead-lettered as
unauthenticated, naming the claim, exactly as HTTP refuses it with a 401."""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import uuid4

import jwt
import orjson
import pytest
from pydantic import Field

from services.auth import CallerRole, TokenIssuer
from services.commands import CommandBody, CommandSpec
from services.kafka.command_consumer import Refused, admit

SECRET = "unit-test-secret-long-enough-for-hs256"


class RegisterParcel(CommandBody):
    label: str = Field(min_length=1)


def _never_called(*_: Any) -> None:
    raise AssertionError("admission never runs a handler")


SPEC = CommandSpec(name="parcels.register", path="/parcels/register", body=RegisterParcel,
                   roles=frozenset({CallerRole.INTAKE}), handler=_never_called,
                   summary="Register a parcel", tag="parcels")
COMMAND = orjson.dumps({"command": SPEC.name, "body": {"command_id": str(uuid4()),
                                                       "label": "box"}})


def authorization(**changes: Any) -> list[tuple[str, bytes]]:
    now = int(time.time())
    claims = {"sub": "intake-svc", "roles": ["intake"], "iss": "corridor", "aud": "corridor",
              "iat": now, "exp": now + 3600, **changes}
    token = jwt.PyJWS().encode(json.dumps(claims).encode(), SECRET, algorithm="HS256")
    return [("authorization", f"Bearer {token}".encode())]


@pytest.mark.parametrize(("claim", "value"), [
    ("roles", None), ("roles", 5), ("roles", {"intake": True}), ("sub", "x" * 65_536),
    ("sub", "intake\x00svc"), ("iss", "someone-else"), ("aud", "billing"), ("exp", "soon"),
])
def test_a_malformed_claim_is_dead_lettered_as_unauthenticated_naming_it(claim: str,
                                                                          value: Any) -> None:
    decision = admit(COMMAND, authorization(**{claim: value}), TokenIssuer(SECRET),
                     {SPEC.name: SPEC})

    assert isinstance(decision, Refused)
    assert decision.error == "unauthenticated"
    assert f"claim {claim!r}" in decision.reason
    assert "x" * 100 not in decision.reason and "\x00" not in decision.reason
