"""Follow the event store into the live read models, as a process's own duty: `corridor
project --from store`, and the supervisor of `corridor serve --writer-process`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from projections.catalog import select
from projections.generations import ensure_live
from projections.rebuild import rebuild_stale
from projections.runner import StoreRunner
from projections.sqlite_watch import watch_commits
from services.settings import Settings
from services.storage.readmodels import events_channel, source_config, store_config

IDLE_POLL_SECONDS = 0.5
"""How often a runner with no news looks anyway (NOTIFY normally wakes it first)."""


async def follow_store(settings: Settings, stop: asyncio.Event, *,
                       on_news: Sequence[Callable[[], None]] = (),
                       idle_seconds: float = IDLE_POLL_SECONDS) -> None:
    """Run the store runner on its own, reading the store's table directly. On PostgreSQL
    the recorder's NOTIFY wakes it (and calls `on_news`, e.g. the policies) at once, on
    SQLite a watch of the file's commits; the idle poll is only the fallback for a lost
    listening connection."""
    store = store_config(settings).open()
    events = source_config(settings).open()
    await store.start()
    await ensure_live(store, select(None))
    await rebuild_stale(store, events, select(None))
    runner = StoreRunner(store, events, select(None), idle_seconds=idle_seconds)
    listen = getattr(store, "listen", None)
    channel = events_channel(settings)
    wakes = (runner.nudge, *on_news)

    def woken(_payload: str) -> None:
        for wake in wakes:
            wake()

    watching = None
    if listen is not None and channel:
        await listen(channel, woken)
    elif settings.store == "sqlite":  # no NOTIFY: notice the writer's commits in the file
        watching = asyncio.create_task(watch_events(settings, woken, stop))
    try:
        await runner.run(stop)
    finally:
        if watching is not None:
            await watching
        await events.close()
        await store.close()


async def watch_events(settings: Settings, woken: Callable[[str], None],
                       stop: asyncio.Event) -> None:
    """Call `woken` on every commit another process makes to the embedded event store."""
    await watch_commits(settings.sqlite_path, lambda _conn: woken(""), stop)
