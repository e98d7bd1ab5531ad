"""A validly signed token is still refused when a claim is malformed, and the refusal names
the claim (issue 25: tokens were read loosely)."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest

from services.auth import CallerRole, NotAuthenticated, Principal, TokenIssuer

SECRET = "unit-test-secret-of-at-least-32-bytes"


def signed(**changes: Any) -> str:
    """A token signed with the right secret whose claims are a good token's with `changes`
    (a change to `...` drops the claim); the payload is written as given, unchecked."""
    now = int(time.time())
    claims = {"sub": "intake-bot", "roles": ["intake"], "iss": "corridor", "aud": "corridor",
              "iat": now, "exp": now + 3600, **changes}
    payload = json.dumps({k: v for k, v in claims.items() if v is not ...}).encode()
    return jwt.PyJWS().encode(payload, SECRET, algorithm="HS256")


def refused_claim(token: str, tokens: TokenIssuer | None = None) -> str | None:
    with pytest.raises(NotAuthenticated) as refusal:
        (tokens or TokenIssuer(SECRET)).verify(token)
    assert refusal.value.claim is None or refusal.value.claim in str(refusal.value)
    return refusal.value.claim


def test_a_well_formed_token_names_its_caller() -> None:
    assert TokenIssuer(SECRET).verify(signed()) == Principal(
        actor="intake-bot", roles=frozenset({CallerRole.INTAKE}))


@pytest.mark.parametrize("roles", [None, 5, "admin", {"admin": True}, [["admin"]], ["overlord"],
                                   [None]])
def test_roles_must_be_a_list_of_known_role_names(roles: Any) -> None:
    assert refused_claim(signed(roles=roles)) == "roles"


def test_a_token_without_roles_is_refused() -> None:
    assert refused_claim(signed(roles=...)) == "roles"


@pytest.mark.parametrize("subject", [
    pytest.param("x" * 65_536, id="64-KB"),
    pytest.param("admin\x00", id="NUL"),
    pytest.param("", id="empty"),
    pytest.param(" admin", id="leading-space"),
    pytest.param("night shift", id="space"),
    pytest.param("ad\nmin", id="newline"),
    pytest.param(7, id="number"),
    pytest.param(None, id="null"),
    pytest.param(..., id="missing"),
])
def test_the_subject_must_be_a_short_printable_actor_id(subject: Any) -> None:
    assert refused_claim(signed(sub=subject)) == "sub"


def test_a_volunteer_id_and_a_service_name_are_subjects() -> None:
    tokens = TokenIssuer(SECRET)

    for subject in ("3f1c2a9e-5d6b-4c1e-9a0b-6f8e7d2c1b0a", "intake-bot", "svc:intake.eu@2"):
        assert tokens.verify(signed(sub=subject)).actor == subject


@pytest.mark.parametrize("issuer", ["someone-else", "", 5, None, ...])
def test_a_token_from_another_issuer_is_refused(issuer: Any) -> None:
    assert refused_claim(signed(iss=issuer)) == "iss"


@pytest.mark.parametrize("audience", ["billing", ["billing", "maps"], [], 5, None, ...])
def test_a_token_for_another_audience_is_refused(audience: Any) -> None:
    assert refused_claim(signed(aud=audience)) == "aud"


def test_an_audience_list_naming_this_service_is_accepted() -> None:
    assert TokenIssuer(SECRET).verify(signed(aud=["maps", "corridor"])).actor == "intake-bot"


@pytest.mark.parametrize(("claim", "value"), [
    ("exp", "tomorrow"), ("exp", True), ("exp", None), ("exp", 10**40), ("exp", -1),
    ("exp", ...), ("iat", "now"), ("iat", ...), ("iat", int(time.time()) + 86_400),
    ("nbf", "later"), ("nbf", int(time.time()) + 86_400),
])
def test_times_must_be_numeric_dates_that_hold_now(claim: str, value: Any) -> None:
    assert refused_claim(signed(**{claim: value})) == claim


def test_an_expired_token_names_the_expiry() -> None:
    past = int(time.time()) - 10
    assert refused_claim(signed(iat=past - 3600, exp=past)) == "exp"


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"sub"', b"null", b"{not json"])
def test_claims_that_are_not_a_json_object_are_refused(payload: bytes) -> None:
    token = jwt.PyJWS().encode(payload, SECRET, algorithm="HS256")
    assert refused_claim(token) is None


def test_the_issuer_and_audience_are_the_settings_of_the_verifier() -> None:
    ours = TokenIssuer(SECRET, issuer="corridor-eu", audience="corridor-eu-api")
    token = ours.issue("intake-bot", ["intake"])

    assert ours.verify(token).actor == "intake-bot"
    assert refused_claim(token, TokenIssuer(SECRET)) == "iss"
    assert refused_claim(TokenIssuer(SECRET).issue("intake-bot", ["intake"]), ours) == "iss"


def test_no_token_is_issued_for_a_subject_that_would_be_refused() -> None:
    with pytest.raises(ValueError, match="pattern"):
        TokenIssuer(SECRET).issue("night shift", ["volunteer"])
