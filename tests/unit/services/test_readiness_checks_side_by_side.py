"""The readiness checks run side by side: while the store and the writer are both slow to
answer, a probe waits for one check's bound, not for their sum (a prober's own timeout, often
5 s, would otherwise run out before the 503 that says what is down)."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

from services.api import health


class SlowWriter:
    """A writer process whose ping is in flight until the store check has seen it."""

    def __init__(self) -> None:
        self.pinging = threading.Event()

    async def ping(self, timeout: float) -> bool:
        self.pinging.set()
        await asyncio.sleep(0.05)
        return False


def test_the_store_check_runs_while_the_writer_ping_is_in_flight(monkeypatch: Any) -> None:
    writer = SlowWriter()

    def store_answers(runtime: Any) -> bool:
        # answers only if the writer's ping started meanwhile: checked one after the
        # other, the ping would not start before this gives up
        return writer.pinging.wait(timeout=2.0)

    monkeypatch.setattr(health, "_store_answers", store_answers)
    runtime = SimpleNamespace(settings=SimpleNamespace(uses_kafka=False, store="postgres"),
                              remote=writer)
    found = asyncio.run(health.dependencies(runtime))
    assert found == {"store": {"state": "up"}, "writer": {"state": "down"}}
    assert health.status_of(found) == "not ready"
