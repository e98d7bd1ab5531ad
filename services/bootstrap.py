"""Wire everything in one place from the settings: store, keys, writer, projections, Kafka."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from domain.base import Meta
from services.auth import Principal, TokenIssuer
from services.clock import now
from services.commands import CommandBody
from services.commands.registry import spec_of
from services.runtime.outcomes import Outcome
from services.runtime.writer import CommandWriter, Submission
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.secrets import auth_secret, master_key, retired_master_keys

if TYPE_CHECKING:
    from services.runtime.ipc import RemoteCommands

log = logging.getLogger("corridor")


@dataclass
class Runtime:
    """The running service's parts, built by `build_runtime` and shared by every entry point."""

    settings: Settings
    app: CorridorApplication
    writer: CommandWriter
    tokens: TokenIssuer
    extras: dict[str, Any] = field(default_factory=dict)
    remote: RemoteCommands | None = None
    """Set in an HTTP worker of `corridor serve --workers N`: commands go to the writer
    process; this process's own writer is never started."""

    def submission(self, name: str, body: CommandBody, principal: Principal) -> Submission:
        spec = spec_of(name)
        meta = Meta(actor=principal.actor, at=now(), command_id=body.command_id,
                    correlation_id=body.correlation_id or body.command_id)
        return Submission(command_id=body.command_id, name=name, payload=body, meta=meta,
                          handler=spec.handler, expected_version=body.expected_version,
                          subjects=body.new_subjects(),
                          credential_roles=frozenset(r.value for r in principal.roles))

    async def send(self, name: str, body: CommandBody, principal: Principal,
                   timeout: float = 30.0) -> Outcome:
        if self.remote is not None:
            return await self.remote.send(name, body, principal.actor, timeout,
                                          roles=principal.roles)
        future = self.writer.submit(self.submission(name, body, principal))
        # shield: a caller's timeout must not cancel a command the writer may already run.
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
        reactions = self.extras.get("reactions")
        if reactions is not None:
            reactions.stop()
        self.writer.stop()
        self.app.close()


def build_runtime(settings: Settings, *, start_writer: bool = True,
                  writer_loop: asyncio.AbstractEventLoop | None = None) -> Runtime:
    """The runtime; with `start_writer`, commands run on the writer's own threads, or on
    `writer_loop`'s thread if given (`CommandWriter.run_on`)."""
    import services.commands.catalog  # noqa: F401  (registers the commands)

    app = CorridorApplication(settings, master_key(settings), retired_master_keys(settings))
    writer = CommandWriter(app, max_batch=settings.group_commit_max)
    tokens = TokenIssuer(auth_secret(settings), timedelta(hours=settings.token_ttl_hours))
    runtime = Runtime(settings=settings, app=app, writer=writer, tokens=tokens)
    if start_writer:
        if writer_loop is not None:
            writer.run_on(writer_loop)
        else:
            writer.start()
        if settings.reactions_in_process:
            from services.runtime.reactions import LocalFollowUps, Reactions

            reactions = Reactions(app, LocalFollowUps(writer),
                                  tick_seconds=settings.expiry_tick_seconds)
            reactions.start()
            runtime.extras["reactions"] = reactions
            writer.after_commit = reactions.nudge  # a recall flags its cases at once
    return runtime

