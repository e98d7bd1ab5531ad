"""Dependencies for routes, as Annotated aliases in one module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from domain.errors import NotPermitted
from services.auth import NotAuthenticated, Principal
from services.bootstrap import Runtime

bearer = HTTPBearer(auto_error=False, description="a token from `corridor token`")


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send 'Authorization: Bearer <token>'")
    return token.strip()


class PartnerTokenLimited(NotPermitted):
    """A partner token reads the packages of referrals made to its organisation and
    answers them (GET /referrals/..., POST /commands/referrals/answer), nothing else."""


async def get_caller(runtime: RuntimeDep, request: Request,
                     _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                     ) -> Principal:
    """The caller, read from the header as the command routes read it, and checked claim by
    claim (`TokenIssuer.verify`); `bearer` only declares the scheme in the OpenAPI document."""
    return runtime.tokens.verify(bearer_token(request))


CallerDep = Annotated[Principal, Depends(get_caller)]
"""Any caller, a partner's service too: only the referral routes take it."""


async def get_principal(caller: CallerDep) -> Principal:
    """The caller of a network route: a partner token is refused (PartnerTokenLimited)."""
    ensure_not_partner(caller, "this route")
    return caller


def ensure_not_partner(caller: Principal, what: str) -> None:
    """Refuse a partner token outside the referral routes, naming the rule."""
    if caller.partner_id is not None:
        raise PartnerTokenLimited(f"a partner token may not use {what}: it reads the packages "
                                  "of its own referrals and answers them, nothing else")


PrincipalDep = Annotated[Principal, Depends(get_principal)]

Purpose = Annotated[str, Query(min_length=1, max_length=200, pattern=r"\S",
                               description="why you look; recorded in the access log")]
"""Why a caller reads personal data or an audit view (not blank; goes on the record)."""
