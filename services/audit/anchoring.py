"""Anchoring the hash chain periodically inside the service (a startup hook for the API).

Each round sends `audit.anchor` through the writer; "nothing new" is the normal quiet answer.
Publish the digests outside the store (`corridor audit anchor` prints them, the anchor log
holds them) so that a rewrite of the whole database is still caught.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from uuid import uuid4

from domain.access import NothingToAnchor
from services.audit.access_commands import AnchorChain
from services.auth import CallerRole, Principal
from services.bootstrap import Runtime
from services.runtime.outcomes import Accepted

log = logging.getLogger("corridor.audit")
ANCHORING = Principal(actor="policy:anchoring", roles=frozenset({CallerRole.ADMIN}))
Stop = Callable[[], Awaitable[None]]


async def anchor_once(runtime: Runtime) -> Accepted | None:
    """Anchor what was stored since the last anchor; None when there was nothing new."""
    outcome = await runtime.send("audit.anchor", AnchorChain(command_id=uuid4()), ANCHORING)
    if isinstance(outcome, Accepted):
        return outcome
    if outcome.rule != NothingToAnchor.__name__:
        log.warning("anchoring was refused: %s: %s", outcome.rule, outcome.detail)
    return None


def anchoring(every_seconds: float = 600.0) -> Callable[[Runtime], Awaitable[Stop]]:
    """A duty (services.bootstrap.Duty) that anchors every `every_seconds`."""

    async def start(runtime: Runtime) -> Stop:
        async def loop() -> None:
            while True:
                await asyncio.sleep(every_seconds)
                try:
                    await anchor_once(runtime)
                except Exception:  # keep anchoring: one failed round must not end it
                    log.exception("anchoring round failed")

        task = asyncio.create_task(loop(), name="corridor-anchoring")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    return start
