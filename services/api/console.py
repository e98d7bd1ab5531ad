"""The console's door: its static files under /console and the exchange of a one-time
sign-in code (from `corridor token --link`) for a session token."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from services.api.deps import RuntimeDep
from services.api.problems import problem_responses
from services.auth import NotAuthenticated
from services.console import STATIC

SECURITY_HEADERS = {
    # Only our own files run; the API is the only thing a page talks to.
    "content-security-policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
}


class SignInCode(BaseModel):
    """The code from a sign-in link's fragment (`#sign-in=...`)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=4096)


class Session(BaseModel):
    """A session token for the console, and who it names."""

    token: str
    actor: str
    roles: list[str]
    expires_at: datetime


class ConsoleFiles(StaticFiles):
    """The console's files, each answered with the console's security headers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, with_headers)


class UsedCodes:
    """Sign-in codes already exchanged, kept until they expire (one use per code)."""

    def __init__(self) -> None:
        self._used: dict[str, float] = {}

    def use(self, jti: str, expires: float) -> bool:
        """True the first time a code is used; False ever after (until it expires)."""
        now = time.time()
        self._used = {k: v for k, v in self._used.items() if v > now}
        if jti in self._used:
            return False
        self._used[jti] = expires
        return True


async def sign_in_body(request: Request, limit: int) -> SignInCode:
    """The body, read here rather than by FastAPI, whose parser answers a body that is not
    UTF-8 with an undocumented 400: every way it can be wrong is a documented problem."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, f"the body must be application/json, not {kind or 'untyped'}")
    raw = await request.body()
    if len(raw) > limit:
        raise HTTPException(413, f"the body is larger than {limit} bytes")
    try:
        return SignInCode.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None


def router(used: UsedCodes) -> APIRouter:
    routes = APIRouter(tags=["console"])

    @routes.post("/console/sign-in", response_model=Session,
                 summary="Exchange a one-time sign-in code for a session token",
                 responses=problem_responses(401, 413, 415, 422),
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": SignInCode.model_json_schema()}}}})
    async def sign_in(request: Request, runtime: RuntimeDep) -> Session:
        """The code comes from the fragment of a `corridor token --link` link (a fragment
        never reaches a server or its logs); it is good for ten minutes and one use."""
        body = await sign_in_body(request, runtime.settings.max_body_bytes)
        principal, jti, expires = runtime.tokens.redeem_sign_in(body.code)
        if not used.use(jti, expires):
            raise NotAuthenticated("invalid sign-in code: it has been used already",
                                   claim="jti")
        roles = sorted(r.value for r in principal.roles)
        token = runtime.tokens.issue(principal.actor, roles)
        claims_expire = runtime.tokens.expiry_of(token)
        return Session(token=token, actor=principal.actor, roles=roles,
                       expires_at=datetime.fromtimestamp(claims_expire, UTC))

    return routes


def install(app: FastAPI) -> None:
    """The sign-in route, then the files (a mount after every route, so it catches nothing
    of the API's)."""
    app.include_router(router(UsedCodes()))

    @app.get("/console", include_in_schema=False)
    async def console_root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=308)

    app.mount("/console", ConsoleFiles(directory=STATIC, html=True), name="console")
