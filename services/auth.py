"""Callers authenticate with signed tokens (JWT, HS256, via PyJWT).

The token's subject is the actor recorded on every event the caller causes; its roles gate
which commands and queries it may use. Nothing in a request body can change either.
A token is read strictly: its signature first, then every claim against `TokenClaims`, so a
malformed claim is refused naming it, never guessed at (a `roles` object read as its keys).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import jwt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

ISSUER = "corridor"
"""The `iss` of tokens from `corridor token` (CORRIDOR_TOKEN_ISSUER)."""
AUDIENCE = "corridor"
"""The `aud` of tokens from `corridor token` (CORRIDOR_TOKEN_AUDIENCE)."""
CLOCK_SKEW_SECONDS = 30
"""How far in the future an `iat` or `nbf` may lie (the issuer's clock may run ahead)."""
SIGN_IN_SUFFIX = ":console-sign-in"
"""Appended to the audience of a one-time console sign-in code: a code is no API token."""
SIGN_IN_TTL = timedelta(minutes=10)
"""How long a sign-in link from `corridor token --link` may be used."""
VERIFIED_TOKENS = 10_000
"""Checked tokens a TokenIssuer remembers (least recently used forgotten first): a few MB."""
LATEST_NUMERIC_DATE = 253_402_300_799
"""9999-12-31T23:59:59Z: a later time is no date a token can mean."""


class CallerRole(StrEnum):
    """Roles a credential can carry (the network's roles plus the intake service)."""

    INTAKE = "intake"
    VOLUNTEER = "volunteer"
    SUPERVISOR = "supervisor"
    FACT_CHECKER = "fact_checker"
    PSYCHOLOGIST = "psychologist"
    AUDITOR = "auditor"
    ADMIN = "admin"
    PARTNER = "partner"
    """A partner organisation's own service: it reads the packages of referrals made to it
    and records its answers to them, nothing else (`Principal.partner_id`)."""


PARTNER_ACTOR_PREFIX = "partner:"
"""A partner token's subject is `partner:<organisation id>`: every event its service causes
names the organisation as its actor."""


def partner_actor(partner_id: UUID) -> str:
    """The subject of a token for the partner organisation's service."""
    return f"{PARTNER_ACTOR_PREFIX}{partner_id}"


Subject = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                           pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")]
"""An actor id as recorded on events: a volunteer's UUID or a service's name, printable
ASCII without spaces (a NUL or a 64 KB subject would be stored on every event it causes)."""
NumericDate = Annotated[float, Field(ge=0, le=LATEST_NUMERIC_DATE, allow_inf_nan=False)]
"""Seconds since the epoch (RFC 7519)."""
SUBJECT: TypeAdapter[str] = TypeAdapter(Subject)


class TokenClaims(BaseModel):
    """The claims a corridor token must carry; other claims are ignored.

    Validated strictly (a role list is a JSON array of known role names, times are numbers)
    with the accepted issuer and audience in the validation context.
    """

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    sub: Subject
    roles: list[CallerRole] = Field(max_length=len(CallerRole))
    iss: str
    aud: str | list[str]
    iat: NumericDate
    exp: NumericDate
    nbf: NumericDate | None = None
    partner_id: UUID | None = None
    """The partner organisation a `partner` token speaks for (with that role only)."""

    @model_validator(mode="after")
    def _partner_speaks_for_itself(self) -> TokenClaims:
        partner = CallerRole.PARTNER in self.roles
        if partner != (self.partner_id is not None):
            raise PydanticCustomError("partner_claim", "a partner token carries the role "
                                      "'partner' and the claim 'partner_id', both or neither")
        if partner and (len(set(self.roles)) != 1 or self.sub != partner_actor(
                self.partner_id)):  # type: ignore[arg-type]
            raise PydanticCustomError("partner_claim", "a partner token has the role "
                                      "'partner' only and the subject 'partner:<partner_id>'")
        return self

    @field_validator("iss")
    @classmethod
    def _accepted_issuer(cls, issuer: str, info: ValidationInfo) -> str:
        expected = (info.context or {}).get("issuer", ISSUER)
        if issuer != expected:
            raise ValueError(f"is not the issuer this service accepts ({expected!r})")
        return issuer

    @field_validator("aud")
    @classmethod
    def _accepted_audience(cls, audience: str | list[str], info: ValidationInfo,
                           ) -> str | list[str]:
        expected = (info.context or {}).get("audience", AUDIENCE)
        named = [audience] if isinstance(audience, str) else audience
        if expected not in named:
            raise ValueError(f"does not name this service's audience ({expected!r})")
        return audience


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    actor: str
    roles: frozenset[CallerRole]
    partner_id: UUID | None = None
    """The partner organisation whose service calls (a `partner` token), else None."""

    def has_any(self, roles: frozenset[CallerRole]) -> bool:
        return CallerRole.ADMIN in self.roles or bool(self.roles & roles)


class NotAuthenticated(Exception):
    """The credential is missing, malformed, expired or forged; `claim` names the claim at
    fault when one is."""

    def __init__(self, message: str, *, claim: str | None = None) -> None:
        super().__init__(message)
        self.claim = claim


class Forbidden(Exception):
    """The caller is authenticated but lacks the role this needs."""


def claims_of(payload: bytes, issuer: str = ISSUER, audience: str = AUDIENCE,
              now: float | None = None) -> TokenClaims:
    """The claims of a token's (signature-checked) payload, valid at `now`, else
    NotAuthenticated naming the first claim at fault."""
    try:
        claims = TokenClaims.model_validate_json(
            payload, context={"issuer": issuer, "audience": audience})
    except ValidationError as error:
        raise _refusal(error) from None
    moment = time.time() if now is None else now
    if claims.exp <= moment:
        raise NotAuthenticated("invalid token: claim 'exp': the token has expired", claim="exp")
    if claims.iat > moment + CLOCK_SKEW_SECONDS:
        raise NotAuthenticated("invalid token: claim 'iat': issued in the future", claim="iat")
    if claims.nbf is not None and claims.nbf > moment + CLOCK_SKEW_SECONDS:
        raise NotAuthenticated("invalid token: claim 'nbf': not valid yet", claim="nbf")
    if claims.exp <= claims.iat:
        raise NotAuthenticated("invalid token: claim 'exp': not after 'iat'", claim="exp")
    return claims


def _refusal(error: ValidationError) -> NotAuthenticated:
    """The first problem of the claims, naming the claim but never its value."""
    first = error.errors(include_input=False, include_url=False)[0]
    loc = first.get("loc", ())
    if first["type"] == "partner_claim":
        return NotAuthenticated(f"invalid token: claim 'partner_id': {first['msg']}",
                                claim="partner_id")
    if not loc:
        return NotAuthenticated("invalid token: the claims are not a JSON object")
    claim = str(loc[0])
    message = "required" if first["type"] == "missing" else first["msg"]
    return NotAuthenticated(f"invalid token: claim {claim!r}: {message}", claim=claim)


class TokenIssuer:
    """Issues and checks tokens with one shared secret, for one issuer and audience."""

    algorithm = "HS256"

    def __init__(self, secret: str, ttl: timedelta = timedelta(hours=12), *,
                 issuer: str = ISSUER, audience: str = AUDIENCE,
                 remembered: int = VERIFIED_TOKENS) -> None:
        self._secret = secret
        self._ttl = ttl
        self._issuer = issuer
        self._audience = audience
        self._signatures = jwt.PyJWS()
        self._remembered = remembered
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        """Tokens checked lately, least recently used first, with their expiry."""

    def issue(self, actor: str, roles: list[CallerRole] | list[str], now: datetime | None = None,
              ttl: timedelta | None = None, partner_id: UUID | None = None) -> str:
        """A signed token naming `actor` (a ValueError if it is no valid subject); with
        `partner_id` (or the role 'partner' alone for the actor 'partner:<id>'), a partner
        service's token (its subject and role are set from it)."""
        issued = now or datetime.now(UTC)
        if partner_id is None and list(roles) == [CallerRole.PARTNER]:
            partner_id = UUID(actor.removeprefix(PARTNER_ACTOR_PREFIX))  # ValueError if not
        if partner_id is not None:
            actor, roles = partner_actor(partner_id), [CallerRole.PARTNER]
        claims: dict[str, Any] = {
            "sub": SUBJECT.validate_python(actor), "roles": [CallerRole(r).value for r in roles],
            "iss": self._issuer, "aud": self._audience,
            "iat": issued, "exp": issued + (ttl or self._ttl)}
        if partner_id is not None:
            claims["partner_id"] = str(partner_id)
        return jwt.encode(claims, self._secret, algorithm=self.algorithm)

    def issue_sign_in(self, actor: str, roles: list[CallerRole] | list[str],
                      ttl: timedelta = SIGN_IN_TTL) -> str:
        """A short-lived one-time code for the console's sign-in link: signed like a token
        but for another audience, so the API refuses it as a bearer token."""
        issued = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": SUBJECT.validate_python(actor), "roles": [CallerRole(r).value for r in roles],
            "iss": self._issuer, "aud": self._audience + SIGN_IN_SUFFIX,
            "iat": issued, "exp": issued + ttl, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._secret, algorithm=self.algorithm)

    def redeem_sign_in(self, code: str) -> tuple[Principal, str, float]:
        """The caller a sign-in code names, its id (`jti`) and expiry; NotAuthenticated if
        it is forged, expired or no sign-in code. Using it once is the caller's to enforce."""
        try:
            payload = self._signatures.decode(code, self._secret, algorithms=[self.algorithm])
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"invalid sign-in code: {error}") from None
        claims = claims_of(payload, self._issuer, self._audience + SIGN_IN_SUFFIX)
        jti = json.loads(payload).get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= 64:
            raise NotAuthenticated("invalid sign-in code: claim 'jti': required", claim="jti")
        return Principal(actor=claims.sub, roles=frozenset(claims.roles)), jti, claims.exp

    def expiry_of(self, token: str) -> float:
        """When a valid token runs out (seconds since the epoch)."""
        return self._verify(token)[1]

    def verify(self, token: str) -> Principal:
        """The caller a valid token names. A checked token is remembered until it expires,
        as long as it is among the `remembered` used most recently: a client sends its
        token with every request, and checking it again each time (the signature, then every
        claim) was a visible share of each command's CPU."""
        verified = self._verified
        known = verified.get(token)
        if known is not None:
            if time.time() < known[1]:
                verified.move_to_end(token)
                return known[0]
            del verified[token]
        principal, expires = self._verify(token)
        verified[token] = (principal, expires)
        if len(verified) > self._remembered:
            verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            payload = self._signatures.decode(token, self._secret, algorithms=[self.algorithm])
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"invalid token: {error}") from None
        claims = claims_of(payload, self._issuer, self._audience)
        return Principal(actor=claims.sub, roles=frozenset(claims.roles),
                         partner_id=claims.partner_id), claims.exp
