"""The background duties of `corridor serve --writer-process`, run by its supervising
process once it has forked the writer and the HTTP workers: follow the event store and keep
the read models current (projections, woken by the store's NOTIFY), and run the policies
(recall flags, releases, retractions, verification expiry), whose follow-ups go to the
writer process over its socket.

Why apart from the writer: in the writer's interpreter both compete with command execution
for the GIL, and each costs the writer commands per second. Why in the supervisor: it does
nothing else after forking, and neither duty needs a core of its own (each uses a small
fraction of one under the full command load). One process fewer to watch; running them here
rather than in a process of their own saves little memory, as a forked process's own pages
are mostly copies of code every process touches (see docs/benchmarks.md for the memory the
API's processes take).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from services.runtime.reactions import Reactions
from services.runtime.store_follower import follow_store, watch_events
from services.settings import Settings
from services.storage.readmodels import events_channel


@dataclass
class Background:
    """The supervisor's duties, built by `services.bootstrap.for_background`."""

    settings: Settings
    reactions: Reactions | None
    """The policies, already running, their follow-ups sent to the writer process; None
    when they run elsewhere (CORRIDOR_REACTIONS_IN_PROCESS=false)."""
    project: bool
    """Follow the store into the read models here (off when Kafka workers project)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Project and/or wake the policies on the store's news until `stop`, then stop the
        policies."""
        on_news = [self.reactions.nudge] if self.reactions is not None else []
        try:
            if self.project:
                await follow_store(self.settings, stop, on_news=on_news)
            elif on_news:
                await _listen_until(self.settings, stop, on_news)
            else:
                await stop.wait()
        finally:
            if self.reactions is not None:
                await asyncio.to_thread(self.reactions.stop)
                self.reactions.app.close()


async def _listen_until(settings: Settings, stop: asyncio.Event,
                        on_news: list[Callable[[], None]]) -> None:
    """Wake the policies on the store's news (PostgreSQL's NOTIFY, the embedded store's
    commits) when this process projects nothing."""
    import asyncpg


    def woken(*_: object) -> None:
        for wake in on_news:
            wake()

    if settings.store == "sqlite":
        await watch_events(settings, woken, stop)
        return
    channel = events_channel(settings)
    if channel is None or not settings.pg_dsn:
        await stop.wait()
        return
    connection = await asyncpg.connect(settings.pg_dsn)
    try:
        await connection.add_listener(channel, woken)
        await stop.wait()
    finally:
        await connection.close()
