"""One POST endpoint per registered command, generated from the catalog."""

import asyncio
import enum
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from pydantic_core import from_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.base import InvalidCommand
from services.api.deps import bearer_token, ensure_not_partner
from services.api.problems import COMMAND_PROBLEMS, invalid_input, problem, problem_for, rejected
from services.auth import CallerRole, Forbidden, NotAuthenticated, Principal
from services.bootstrap import Runtime
from services.commands import CATALOG, CommandSpec
from services.commands.common import repeated_key, repeated_key_message
from services.runtime.outcomes import Accepted, Outcome, Rejected

SECURED: dict[str, Any] = {"security": [{"HTTPBearer": []}]}
MAX_JSON_DEPTH = 200
"""Levels of arrays and objects a command body may nest inside its outer object: as deep as
pydantic-core reads (its recursion limit). Python's json, under FastAPI, answered a body a
thousand levels deep with an undocumented 400."""


def _endpoint(spec: CommandSpec) -> Callable[..., Awaitable[Any]]:
    # The hot path: no dependency injection beyond the body (it costs a visible share of the
    # event loop per request); the credential is checked here exactly as get_principal does.
    async def endpoint(body: Any, request: Request) -> Any:
        runtime: Runtime = request.app.state.runtime
        principal = runtime.tokens.verify(bearer_token(request))
        if CallerRole.PARTNER not in spec.roles:
            ensure_not_partner(principal, f"the command {spec.name}")
        if not principal.has_any(spec.roles):
            allowed = ", ".join(sorted(spec.roles))
            raise Forbidden(f"{spec.name} needs one of the roles: {allowed}")
        outcome = await runtime.send(spec.name, body, principal)
        if isinstance(outcome, Rejected):
            return rejected(outcome)
        # Serialised by pydantic-core in one call: letting FastAPI validate the returned
        # model against response_model and encode it again costs a visible share of each
        # request.
        return Response(outcome.model_dump_json(), media_type="application/json")

    endpoint.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=spec.body),
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
    ])
    endpoint.__name__ = spec.name.replace(".", "_")
    return endpoint


class CommandFastPath:
    """ASGI middleware taking a well-formed, authorised command straight to the writer.

    FastAPI's routing, request wrappers and JSON-then-model validation are a large share of
    an HTTP worker's CPU per command under load (a py-spy profile shows it). Here the route
    is one dict look-up and the body is validated from its bytes by pydantic-core in one
    call. Anything else (a bad token, a missing role, an invalid or non-JSON body) goes on
    to the FastAPI route, unchanged, so every error is answered by the one error mapping in
    problems.py; errors of the command itself (rejections, the store or writer failing) are
    mapped there too.
    Every command route's body is read here first, and one larger than `max_body_bytes`
    is refused with 413 before it is read in full; one that has not arrived within
    `body_timeout_seconds` gets a 408 and the connection is closed. A JSON body that is not
    UTF-8 or nests deeper than MAX_JSON_DEPTH gets the route's 422 problem for invalid JSON
    from here, since FastAPI's parser would answer it with a 400 of its own.
    """

    def __init__(self, app: ASGIApp) -> None:
        import services.commands.catalog  # noqa: F401  (registers every command)

        self.app = app
        self.routes = {f"/commands{spec.path}": spec for spec in CATALOG.values()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spec = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if spec is None or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        runtime: Runtime = scope["app"].state.runtime
        limit = runtime.settings.max_body_bytes
        headers = _first_of_each(scope["headers"])
        wait = runtime.settings.body_timeout_seconds
        try:
            async with asyncio.timeout(wait):
                body, state = await _read_body(receive, limit, _declared_length(headers))
        except TimeoutError:
            late = problem(408, f"the request body did not arrive within {wait:g} s "
                                "(CORRIDOR_BODY_TIMEOUT_SECONDS); nothing was run",
                           rule="body_timeout")
            late.headers["connection"] = "close"  # the rest of the body is never read
            return await late(scope, receive, send)
        if state is Body.GONE:  # the client went away mid-body: nothing to run, no one to answer
            return None
        if state is Body.TOO_LARGE:
            return await problem(413, f"the request body is larger than {limit} bytes, the "
                                      "most this API reads (CORRIDOR_MAX_BODY_BYTES)",
                                 rule="body_too_large")(scope, receive, send)
        command = _accepted_input(spec, runtime, headers, body)
        if command is None:
            return await self._to_route(scope, receive, send, headers, body)
        principal, payload = command
        try:
            outcome = await _send(runtime, spec, payload, principal, body)
        except InvalidCommand:  # the writer process found that the body does not fit the
            if payload is not None:  # command: the route answers it, as any invalid body
                raise
            return await self._to_route(scope, receive, send, headers, body)
        except Exception as error:
            mapped = problem_for(error)
            if mapped is None:
                raise
            return await mapped(scope, receive, send)
        if isinstance(outcome, Rejected):
            return await rejected(outcome)(scope, receive, send)
        content = outcome.model_dump_json().encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})

    async def _to_route(self, scope: Scope, receive: Receive, send: Send,
                        headers: dict[bytes, bytes], body: bytes) -> None:
        """Leave a request the fast path does not take to the FastAPI route (a JSON body
        that is not UTF-8 or nests too deep is answered here: see `_unreadable_json`)."""
        unreadable = _unreadable_json(headers, body)
        if unreadable is not None:
            return await unreadable(scope, receive, send)
        return await self.app(scope, _replay(body, receive), send)


async def _send(runtime: Runtime, spec: CommandSpec, payload: Any, principal: Principal,
                body: bytes) -> Outcome:
    """`Runtime.send`; an HTTP worker hands the writer process the body as it came (the
    writer process validates it into the command's model in any case)."""
    if runtime.remote is None:
        return await runtime.send(spec.name, payload, principal)
    return await runtime.remote.send(spec.name, payload, principal.actor,
                                     runtime.settings.command_wait_seconds,
                                     roles=principal.roles, body_json=body)


def _accepted_input(spec: CommandSpec, runtime: Runtime, headers: dict[bytes, bytes],
                    body: bytes) -> tuple[Principal, Any] | None:
    """(caller, validated body) of a request the fast path takes, else None. The token is
    checked by the same `TokenIssuer.verify` (every claim) as on the FastAPI route. In an
    HTTP worker the body is not validated here (None): the writer process validates it into
    the same model anyway, and one it refuses goes on to the route (see `__call__`)."""
    scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
    if not _is_json(headers) or scheme.lower() != b"bearer" or not body:
        return None
    try:
        principal = runtime.tokens.verify(token.strip().decode("latin-1"))
        if not principal.has_any(spec.roles):
            return None
        if runtime.remote is None:
            payload = spec.body.model_validate_json(body)
        else:
            payload = None
            body.decode()  # the writer process is sent text
    except (NotAuthenticated, ValidationError, UnicodeDecodeError):
        return None
    if repeated_key(body) is not None:  # the route refuses it, naming the key
        return None
    return principal, payload


def _is_json(headers: dict[bytes, bytes]) -> bool:
    return headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"application/json"


def _unreadable_json(headers: dict[bytes, bytes], body: bytes) -> Response | None:
    """A 422 problem for a JSON body that is not UTF-8 (RFC 8259) or is nested deeper than
    MAX_JSON_DEPTH; FastAPI's parser answered both with an undocumented 400. Only bodies the
    fast path did not take get here, so a well-formed command pays nothing for it."""
    if not _is_json(headers):
        return None  # the route answers 415, naming the type expected
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return invalid_input([{"type": "json_invalid", "loc": ("body",), "msg": "",
                               "ctx": {"error": f"not UTF-8 at byte {error.start}"}}])
    try:
        from_json(body)
    except ValueError as error:
        if str(error).startswith("recursion limit exceeded"):
            return invalid_input([{"type": "json_too_deep", "loc": ("body",),
                                   "msg": f"nested too deep: more than {MAX_JSON_DEPTH} "
                                          "levels of arrays and objects inside the body"}])
    return None  # anything else wrong with it the route names


def _first_of_each(headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Header values by name, the first of repeated ones (as Starlette's `headers.get`)."""
    first: dict[bytes, bytes] = {}
    for name, value in headers:
        first.setdefault(name, value)
    return first


class Body(enum.Enum):
    """How reading a request body ended."""

    READ = "read"
    GONE = "gone"
    """The client went away before sending all of it."""
    TOO_LARGE = "too large"
    """It declared, or sent, more than the limit; the rest is not read."""


def _declared_length(headers: dict[bytes, bytes]) -> int | None:
    value = headers.get(b"content-length", b"").strip()
    return int(value) if value.isdigit() else None


async def _read_body(receive: Receive, limit: int,
                     declared: int | None) -> tuple[bytes, Body]:
    """The request body, read only as far as `limit` bytes: every command route reads its
    body here first, so no request holds more than that in memory."""
    if declared is not None and declared > limit:
        return b"", Body.TOO_LARGE
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), Body.GONE
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", Body.TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), Body.READ


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already read body over once, then defers to the client."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def json_body(request: Request) -> None:
    """Commands are JSON: another media type is a 415 naming it (not a 422 about the body),
    and a body naming a key twice in one object is a 422 naming the key."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, f"the body must be application/json, not {kind or 'untyped'}")
    key = repeated_key(await request.body())  # read (and kept) by FastAPI already
    if key is not None:
        raise RequestValidationError([{"type": "repeated_key", "loc": ("body",),
                                       "msg": repeated_key_message(key), "input": None}])


def install(api: FastAPI) -> None:
    """Add one route per command straight onto the app (an included router costs a second
    round of route matching on every request), behind the fast path."""
    import services.commands.catalog  # noqa: F401  (registers every command)

    api.add_middleware(CommandFastPath)
    for spec in CATALOG.values():
        api.add_api_route(
            f"/commands{spec.path}", _endpoint(spec), methods=["POST"],
            response_model=Accepted, summary=spec.summary, tags=[spec.tag],
            responses=COMMAND_PROBLEMS, openapi_extra=SECURED,
            description=f"Command `{spec.name}`. Roles: {', '.join(sorted(spec.roles))}.",
            response_class=JSONResponse, operation_id=spec.name.replace(".", "_"),
            dependencies=[Depends(json_body)])


__all__ = ["Accepted", "Rejected", "install"]
