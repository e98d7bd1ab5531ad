"""Tokens: the subject is the actor and the roles gate commands; nothing else gets in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.auth import CallerRole, NotAuthenticated, Principal, TokenIssuer

SECRET = "unit-test-secret-of-at-least-32-bytes"


def test_a_token_names_its_subject_and_roles() -> None:
    tokens = TokenIssuer(SECRET)

    principal = tokens.verify(tokens.issue("7f1c", [CallerRole.VOLUNTEER, "supervisor"]))

    assert principal == Principal(actor="7f1c", roles=frozenset(
        {CallerRole.VOLUNTEER, CallerRole.SUPERVISOR}))


def test_an_expired_token_is_refused() -> None:
    tokens = TokenIssuer(SECRET)
    token = tokens.issue("7f1c", ["volunteer"], now=datetime.now(UTC) - timedelta(hours=2),
                         ttl=timedelta(hours=1))

    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.verify(token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    forged = TokenIssuer("someone-elses-secret-also-32-bytes-long").issue("7f1c", ["admin"])

    with pytest.raises(NotAuthenticated, match="invalid token"):
        TokenIssuer(SECRET).verify(forged)


@pytest.mark.parametrize("claims", [
    pytest.param({"sub": "7f1c", "roles": ["overlord"]}, id="unknown-role"),
    pytest.param({"roles": ["admin"]}, id="no-subject"),
])
def test_a_token_with_unusable_claims_is_refused(claims: dict[str, object]) -> None:
    expiry = datetime.now(UTC) + timedelta(hours=1)
    token = jwt.encode({**claims, "exp": expiry}, SECRET, algorithm="HS256")

    with pytest.raises(NotAuthenticated):
        TokenIssuer(SECRET).verify(token)


def test_a_token_without_an_expiry_is_refused() -> None:
    token = jwt.encode({"sub": "7f1c", "roles": ["admin"]}, SECRET, algorithm="HS256")

    with pytest.raises(NotAuthenticated):
        TokenIssuer(SECRET).verify(token)


def test_a_token_using_the_none_algorithm_is_refused() -> None:
    token = jwt.encode({"sub": "7f1c", "roles": ["admin"],
                        "exp": datetime.now(UTC) + timedelta(hours=1)}, key=None, algorithm="none")

    with pytest.raises(NotAuthenticated):
        TokenIssuer(SECRET).verify(token)


def test_garbage_is_not_a_token() -> None:
    with pytest.raises(NotAuthenticated):
        TokenIssuer(SECRET).verify("not-a-token")


def test_a_caller_needs_one_of_the_roles_unless_an_admin() -> None:
    checkers = frozenset({CallerRole.FACT_CHECKER})

    assert Principal("a", frozenset({CallerRole.FACT_CHECKER})).has_any(checkers)
    assert Principal("b", frozenset({CallerRole.ADMIN})).has_any(checkers)
    assert not Principal("c", frozenset({CallerRole.VOLUNTEER})).has_any(checkers)
    assert not Principal("d", frozenset()).has_any(checkers)
