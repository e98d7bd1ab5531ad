"""Callers authenticate with signed tokens (JWT, HS256, via PyJWT).

The token's subject is the actor recorded on every event the caller causes; its roles gate
which commands and queries it may use. Nothing in a request body can change either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt


class CallerRole(StrEnum):
    """Roles a credential can carry (the network's roles plus the intake service)."""

    INTAKE = "intake"
    VOLUNTEER = "volunteer"
    SUPERVISOR = "supervisor"
    FACT_CHECKER = "fact_checker"
    PSYCHOLOGIST = "psychologist"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    actor: str
    roles: frozenset[CallerRole]

    def has_any(self, roles: frozenset[CallerRole]) -> bool:
        return CallerRole.ADMIN in self.roles or bool(self.roles & roles)


class NotAuthenticated(Exception):
    """The credential is missing, malformed, expired or forged."""


class Forbidden(Exception):
    """The caller is authenticated but lacks the role this needs."""


class TokenIssuer:
    """Issues and checks tokens with one shared secret."""

    algorithm = "HS256"

    def __init__(self, secret: str, ttl: timedelta = timedelta(hours=12)) -> None:
        self._secret = secret
        self._ttl = ttl
        self._verified: dict[str, tuple[Principal, float]] = {}

    def issue(self, actor: str, roles: list[CallerRole] | list[str], now: datetime | None = None,
              ttl: timedelta | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {"sub": actor, "roles": [CallerRole(r).value for r in roles],
                  "iat": issued, "exp": issued + (ttl or self._ttl)}
        return jwt.encode(claims, self._secret, algorithm=self.algorithm)

    def verify(self, token: str) -> Principal:
        """The caller a valid token names; checked signatures are remembered until expiry."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires = self._verify(token)
        if len(self._verified) >= 10_000:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[self.algorithm],
                                options={"require": ["sub", "exp"]})
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"invalid token: {error}") from None
        try:
            roles = frozenset(CallerRole(r) for r in claims.get("roles", []))
        except ValueError as error:
            raise NotAuthenticated(f"invalid token: {error}") from None
        return Principal(actor=str(claims["sub"]), roles=roles), float(claims["exp"])
