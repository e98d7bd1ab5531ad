"""Large stores shared by sections within one run (rebuild and replay read the same one)."""

from __future__ import annotations

import sys
from typing import Any

from bench.context import BenchContext
from bench.generate import fill_store
from bench.infra import fresh_database


async def filled_store(ctx: BenchContext, events: int) -> tuple[str, dict[str, Any]]:
    """A database holding about `events` events, made once per run; (DSN, how it was made)."""
    key = f"filled_store_{events}"
    if key not in ctx.results:
        dsn = await ctx.cleanup.enter_async_context(
            fresh_database(ctx.servers.ensure_postgres(), "store", keep=ctx.config.keep_data))
        print(f"bench: filling a store with {events:,} events", file=sys.stderr, flush=True)
        ctx.results[key] = (dsn, await fill_store(dsn, ctx.master_key, events))
    found: tuple[str, dict[str, Any]] = ctx.results[key]
    return found
