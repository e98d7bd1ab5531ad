"""One POST endpoint per registered command, generated from the catalog."""

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.api.deps import bearer_token
from services.api.problems import rejected
from services.auth import Forbidden
from services.bootstrap import Runtime
from services.commands import CATALOG, CommandSpec
from services.outcomes import Accepted, Rejected

SECURED: dict[str, Any] = {"security": [{"HTTPBearer": []}]}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in [(401, "missing or invalid token"), (403, "the caller lacks the role"),
                       (404, "a named stream does not exist"),
                       (409, "a rule was broken or the expected version did not match"),
                       (422, "invalid input; the body names the field and the rule"),
                       (503, "the store did not take the write; retry with the same id")]
}


def _endpoint(spec: CommandSpec) -> Callable[..., Awaitable[Any]]:
    # The hot path: no dependency injection beyond the body (it cost ~10% of the event loop
    # per request); the credential is checked here exactly as get_principal does.
    async def endpoint(body: Any, request: Request) -> Any:
        runtime: Runtime = request.app.state.runtime
        principal = runtime.tokens.verify(bearer_token(request))
        if not principal.has_any(spec.roles):
            allowed = ", ".join(sorted(spec.roles))
            raise Forbidden(f"{spec.name} needs one of the roles: {allowed}")
        outcome = await runtime.send(spec.name, body, principal)
        if isinstance(outcome, Rejected):
            return rejected(outcome)
        # Serialised by pydantic-core in one call: letting FastAPI validate the returned
        # model against response_model and encode it again cost a tenth of each request.
        return Response(outcome.model_dump_json(), media_type="application/json")

    endpoint.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=spec.body),
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
    ])
    endpoint.__name__ = spec.name.replace(".", "_")
    return endpoint


def install(api: FastAPI) -> None:
    """Add one route per command straight onto the app (an included router costs a second
    round of route matching on every request)."""
    import services.commands.catalog  # noqa: F401  (registers every command)

    for spec in CATALOG.values():
        api.add_api_route(
            f"/commands{spec.path}", _endpoint(spec), methods=["POST"],
            response_model=Accepted, summary=spec.summary, tags=[spec.tag],
            responses=PROBLEM_RESPONSES, openapi_extra=SECURED,
            description=f"Command `{spec.name}`. Roles: {', '.join(sorted(spec.roles))}.",
            response_class=JSONResponse, operation_id=spec.name.replace(".", "_"))


__all__ = ["Accepted", "Rejected", "install"]
