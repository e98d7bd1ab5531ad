"""The board stream's frames of one change are made once for all open streams (each stream
asking the board for the same rows made commands slower with every console open)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from projections.tracking import Touched
from services.api import queries


async def test_every_stream_of_one_change_shares_one_lookup(
        monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[tuple[Touched, bool]] = []

    async def frames(service: Any, touched: Touched, supervisor: bool) -> list[bytes]:
        looked_up.append((touched, supervisor))
        await asyncio.sleep(0)
        return [b"event: case\n\n"]

    monkeypatch.setattr(queries, "_frames", frames)
    shared = queries.SharedFrames()
    change, later = Touched(cases=frozenset({"a"})), Touched(cases=frozenset({"a"}))

    sent = await asyncio.gather(*(shared.frames(None, change, False) for _ in range(50)),
                                shared.frames(None, change, True),
                                shared.frames(None, later, False))  # type: ignore[arg-type]

    assert all(s == [b"event: case\n\n"] for s in sent)
    assert looked_up == [(change, False), (change, True), (later, False)]
