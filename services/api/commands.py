"""One POST endpoint per registered command, generated from the catalog."""

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.problems import rejected
from services.auth import Forbidden, Principal
from services.bootstrap import Runtime
from services.commands import CATALOG, CommandSpec
from services.outcomes import Accepted, Rejected

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {}}}
    for code, text in [(401, "missing or invalid token"), (403, "the caller lacks the role"),
                       (404, "a named stream does not exist"),
                       (409, "a rule was broken or the expected version did not match"),
                       (422, "invalid input; the body names the field and the rule")]
}


def _endpoint(spec: CommandSpec) -> Callable[..., Awaitable[Any]]:
    async def endpoint(body: Any, runtime: Runtime, principal: Principal) -> Any:
        if not principal.has_any(spec.roles):
            allowed = ", ".join(sorted(spec.roles))
            raise Forbidden(f"{spec.name} needs one of the roles: {allowed}")
        outcome = await runtime.send(spec.name, body, principal)
        if isinstance(outcome, Rejected):
            return rejected(outcome)
        return outcome

    endpoint.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=spec.body),
        inspect.Parameter("runtime", inspect.Parameter.KEYWORD_ONLY, annotation=RuntimeDep),
        inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=PrincipalDep),
    ])
    endpoint.__name__ = spec.name.replace(".", "_")
    return endpoint


def router() -> APIRouter:
    import services.commands.catalog  # noqa: F401  (registers every command)

    routes = APIRouter(prefix="/commands")
    for spec in CATALOG.values():
        routes.add_api_route(
            spec.path, _endpoint(spec), methods=["POST"], response_model=Accepted,
            summary=spec.summary, tags=[spec.tag], responses=PROBLEM_RESPONSES,
            description=f"Command `{spec.name}`. Roles: {', '.join(sorted(spec.roles))}.",
            response_class=JSONResponse, operation_id=spec.name.replace(".", "_"))
    return routes


__all__ = ["Accepted", "Rejected", "router"]
