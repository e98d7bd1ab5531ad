"""A partner token speaks for one partner organisation: the role 'partner' alone, the claim
'partner_id', and the subject 'partner:<partner_id>'; anything else is refused naming the
claim."""

from __future__ import annotations

import json
import time
from typing import Any
from uuid import uuid4

import jwt
import pytest

from services.auth import CallerRole, NotAuthenticated, TokenIssuer

SECRET = "unit-test-secret-of-at-least-32-bytes"
PARTNER = uuid4()


def signed(**changes: Any) -> str:
    now = int(time.time())
    claims = {"sub": f"partner:{PARTNER}", "roles": ["partner"], "partner_id": str(PARTNER),
              "iss": "corridor", "aud": "corridor", "iat": now, "exp": now + 3600, **changes}
    payload = json.dumps({k: v for k, v in claims.items() if v is not ...}).encode()
    return jwt.PyJWS().encode(payload, SECRET, algorithm="HS256")


def test_a_partner_token_names_its_organisation() -> None:
    caller = TokenIssuer(SECRET).verify(signed())

    assert caller.partner_id == PARTNER
    assert caller.roles == frozenset({CallerRole.PARTNER})
    assert caller.actor == f"partner:{PARTNER}"


def test_the_issuer_makes_a_partner_token_from_the_organisation_alone() -> None:
    tokens = TokenIssuer(SECRET)

    for token in (tokens.issue("ignored", ["admin"], partner_id=PARTNER),
                  tokens.issue(f"partner:{PARTNER}", ["partner"])):
        caller = tokens.verify(token)
        assert (caller.actor, caller.partner_id) == (f"partner:{PARTNER}", PARTNER)
        assert caller.roles == frozenset({CallerRole.PARTNER})


@pytest.mark.parametrize("changes", [
    {"partner_id": ...},  # the role without the organisation
    {"roles": ["volunteer"]},  # the organisation without the role
    {"roles": ["partner", "admin"]},  # a partner is nothing else
    {"sub": "admin"},  # nor anyone else
    {"sub": f"partner:{uuid4()}"},  # nor another organisation
    {"partner_id": "not-a-uuid"},
])
def test_a_malformed_partner_token_is_refused_naming_the_claim(changes: dict[str, Any]) -> None:
    with pytest.raises(NotAuthenticated) as refusal:
        TokenIssuer(SECRET).verify(signed(**changes))

    assert refusal.value.claim == "partner_id"


def test_a_token_for_someone_else_names_no_partner() -> None:
    tokens = TokenIssuer(SECRET)

    assert tokens.verify(tokens.issue("admin", ["admin"])).partner_id is None
