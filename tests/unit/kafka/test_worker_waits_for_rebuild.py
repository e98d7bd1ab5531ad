"""A Kafka projection worker applies nothing to a read model another release built: the
members of a group would all rebuild at once, so each waits, saying why, until `corridor
rebuild` switches the generation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from projections.catalog import PROJECTIONS
from projections.tracking import Generation
from services.kafka import projection_worker


class Generations:
    """A read-model store that knows only its generations, switched by a rebuild later."""

    def __init__(self, outdated: str | None) -> None:
        self.outdated = outdated

    async def generations(self) -> list[Generation]:
        return [Generation(p.name, 1, "live",
                           p.version - 1 if p.name == self.outdated else p.version)
                for p in PROJECTIONS]


def test_a_current_store_is_worked_on_at_once() -> None:
    store: Any = Generations(None)
    assert asyncio.run(projection_worker._wait_for_rebuild(store, asyncio.Event())) is True


def test_an_outdated_board_is_waited_for_until_a_rebuild_switches_it(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(projection_worker, "STALE_RECHECK_SECONDS", 0.01)
    store: Any = Generations("case_board")

    async def story() -> bool:
        waiting = asyncio.create_task(projection_worker._wait_for_rebuild(store,
                                                                          asyncio.Event()))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        store.outdated = None  # `corridor rebuild -p case_board` switched it
        return await asyncio.wait_for(waiting, 5)

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(story()) is True
    assert "corridor rebuild -p case_board" in caplog.text


def test_a_stop_while_waiting_ends_the_worker() -> None:
    store: Any = Generations("case_board")
    stop = asyncio.Event()
    stop.set()
    assert asyncio.run(projection_worker._wait_for_rebuild(store, stop)) is False
