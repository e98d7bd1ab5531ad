"""Checked tokens are remembered, least recently used forgotten first, never past expiry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from services.auth import NotAuthenticated, Principal, TokenIssuer

SECRET = "unit-test-secret-of-at-least-32-bytes"


class CountingIssuer(TokenIssuer):
    """Counts full checks (signature and claims), which the cache spares."""

    checks = 0

    def _verify(self, token: str) -> tuple[Principal, float]:
        self.checks += 1
        return super()._verify(token)


def test_a_token_used_again_is_not_checked_again() -> None:
    tokens = CountingIssuer(SECRET)
    token = tokens.issue("7f1c", ["volunteer"])

    first, second = tokens.verify(token), tokens.verify(token)

    assert first == second and tokens.checks == 1


def test_the_least_recently_used_token_is_forgotten_first() -> None:
    tokens = CountingIssuer(SECRET, remembered=2)
    a, b, c = (tokens.issue(actor, ["volunteer"]) for actor in ("a", "b", "c"))
    tokens.verify(a)
    tokens.verify(b)
    tokens.verify(a)  # a is now the most recently used
    tokens.verify(c)  # forgets b, the least recently used
    checks = tokens.checks

    tokens.verify(a)
    assert tokens.checks == checks  # still remembered
    tokens.verify(b)
    assert tokens.checks == checks + 1  # forgotten: checked in full again


def test_a_remembered_token_is_refused_once_it_has_expired(
        monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = CountingIssuer(SECRET)
    token = tokens.issue("7f1c", ["volunteer"], now=datetime.now(UTC),
                         ttl=timedelta(minutes=5))
    tokens.verify(token)
    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)

    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.verify(token)
    assert tokens.checks == 2
