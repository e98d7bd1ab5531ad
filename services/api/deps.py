"""Dependencies for routes, as Annotated aliases in one module."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.auth import NotAuthenticated, Principal
from services.bootstrap import Runtime

bearer = HTTPBearer(auto_error=False, description="a token from `corridor token`")


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_principal(runtime: RuntimeDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                  ) -> Principal:
    if credentials is None:
        raise NotAuthenticated("send 'Authorization: Bearer <token>'")
    return runtime.tokens.verify(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
