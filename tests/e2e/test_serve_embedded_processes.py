"""`corridor serve` on the embedded SQLite store with a writer process and two HTTP
workers, as it runs by default on a machine of two cores or more: commands from both
workers are stored once, a board change reaches the live stream of every worker, reads wait
for the writes they name, and the policies in the supervising process act on the writer's
commits. Real processes, real files, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from test_serve_workers import (
    Served,
    flags_after_a_recall,
    open_case_body,
    serving,
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving("", tmp_path / "serve.log", "--workers", "2", store="sqlite",
                 data_dir=str(tmp_path / "data"), pg_dsn="") as server:
        yield server


def stored_events(served: Served, case_ids: list[str]) -> int:
    path = served.log.parent / "data" / "corridor.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        marks = ", ".join("?" for _ in case_ids)
        [(count,)] = conn.execute(f"SELECT count(*) FROM stored_events WHERE originator_id IN "
                                  f"({marks})", [uuid.UUID(c).hex for c in case_ids]).fetchall()
        return int(count)


async def test_commands_through_both_workers_are_stored_once_and_read_back(
        served: Served) -> None:
    intake = served.headers("intake-bot", "intake")
    supervisor = served.headers(str(uuid.uuid4()), "supervisor")
    bodies = [open_case_body() for _ in range(60)]
    async with httpx.AsyncClient(base_url=served.base, timeout=30,
                                 limits=httpx.Limits(max_connections=16)) as client:
        replies = await asyncio.gather(*(client.post("/commands/cases/open", json=b,
                                                     headers=intake) for b in bodies))
        retries = await asyncio.gather(*(client.post("/commands/cases/open", json=b,
                                                     headers=intake) for b in bodies[:10]))
        newest = max(r.json()["position"] for r in replies)
        boards = await asyncio.gather(*(client.get("/board", headers=supervisor, params={
            "min_position": newest, "wait_ms": 10_000, "limit": 100}) for _ in range(4)))
    assert [r.status_code for r in replies] == [200] * 60
    assert all(r.json()["duplicate"] for r in retries)
    assert stored_events(served, [b["case_id"] for b in bodies]) == 60
    for board in boards:  # each read waited for the newest write, whichever worker took it
        assert board.status_code == 200, board.text
        assert {b["case_id"] for b in bodies} <= {c["case_id"] for c in board.json()["cases"]}


async def read_rows(client: httpx.AsyncClient, headers: dict[str, str], wanted: set[str],
                    ready: asyncio.Event, seconds: float) -> set[str]:
    """Case ids the compact board stream sends until `wanted` all came, or `seconds`."""
    seen: set[str] = set()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async with client.stream("GET", "/board/stream", headers=headers,
                                     params={"compact": "true"}) as stream:
                async for line in stream.aiter_lines():
                    ready.set()
                    if not line.startswith("data: "):
                        continue
                    data: dict[str, Any] = orjson.loads(line[len("data: "):])
                    if "rows" in data:
                        at = data["fields"].index("case_id")
                        seen |= {row[at] for row in data["rows"]}
                    if wanted <= seen:
                        break
    return seen


async def test_a_case_opened_through_one_worker_reaches_the_streams_of_both(
        served: Served) -> None:
    supervisor = served.headers(str(uuid.uuid4()), "supervisor")
    bodies = [open_case_body() for _ in range(8)]
    wanted = {b["case_id"] for b in bodies}
    async with httpx.AsyncClient(base_url=served.base, timeout=30,
                                 limits=httpx.Limits(max_connections=16)) as client:
        streams = []
        for _ in range(4):  # spread over both workers by the kernel (SO_REUSEPORT)
            ready = asyncio.Event()
            streams.append(asyncio.create_task(read_rows(client, supervisor, wanted, ready,
                                                         seconds=20)))
            await asyncio.wait_for(ready.wait(), 10)
        started = time.monotonic()
        for body in bodies:
            reply = await client.post("/commands/cases/open", json=body,
                                      headers=served.headers("intake-bot", "intake"))
            assert reply.status_code == 200, reply.text
        seen = await asyncio.gather(*streams)
        took = time.monotonic() - started
    for rows in seen:
        assert wanted <= rows
    assert took < 10, took


async def test_the_policies_in_the_supervisor_flag_a_case_when_its_transport_is_unsafe(
        served: Served) -> None:
    flags, bus = await flags_after_a_recall(served)

    assert [(f["reason"], f["resource_id"]) for f in flags] == [("resource_unsafe", str(bus))]
