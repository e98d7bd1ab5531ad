"""The board feed hands the live streams what changed within a moment of a change as one
change, so that every stream reads those rows once, not once per commit."""

from __future__ import annotations

import asyncio

from projections.service import BoardFeed
from projections.tracking import Touched


async def test_changes_close_together_reach_a_stream_as_one() -> None:
    feed = BoardFeed(gather_seconds=0.05)
    async with feed.subscribe() as queue:
        feed.publish(Touched(cases=frozenset({"a"})))
        feed.publish(Touched(cases=frozenset({"b"}), resources=frozenset({"r"})))

        got = await asyncio.wait_for(queue.get(), timeout=5)

        assert got == Touched(cases=frozenset({"a", "b"}), resources=frozenset({"r"}))
        assert queue.empty()


async def test_every_stream_gets_the_same_change() -> None:
    feed = BoardFeed(gather_seconds=0.01)
    async with feed.subscribe() as first, feed.subscribe() as second:
        feed.publish(Touched(cases=frozenset({"a"})))

        one, other = await asyncio.gather(first.get(), second.get())

        assert one is other


async def test_nothing_is_kept_while_nobody_listens() -> None:
    feed = BoardFeed(gather_seconds=0.01)
    feed.publish(Touched(cases=frozenset({"a"})))
    async with feed.subscribe() as queue:
        await asyncio.sleep(0.05)

        assert queue.empty()
