"""The command fast path answers every request as the FastAPI route would: the same status for
odd headers and bodies, and nothing run for a request whose client went away mid-body.

Each request goes, at the ASGI level, to two copies of the app: one as served, one with the
fast path taken out, each on its own embedded store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from services.api.app import create_app
from services.api.command_routes import CommandFastPath
from services.settings import Settings

PATH = "/commands/volunteers/register"
JSON = ("content-type", "application/json")


@asynccontextmanager
async def serving(data_dir: Path, *, fast: bool, **settings: Any) -> AsyncIterator[FastAPI]:
    app = create_app(Settings(store="sqlite", data_dir=data_dir, kafka_bootstrap=None,
                              reactions_in_process=False, **settings))
    if not fast:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not CommandFastPath]
    async with app.router.lifespan_context(app):
        yield app


async def exchange(app: FastAPI, headers: list[tuple[str, str]], chunks: list[bytes], *,
                   disconnect: bool = False, stall: bool = False,
                   ) -> tuple[list[dict[str, Any]], int]:
    """One request at the ASGI level: (the messages the app sent, chunks it never read).
    With `stall`, the client sends `chunks` and then nothing more, nor goes away."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": c,
         "more_body": i < len(chunks) - 1 or disconnect or stall}
        for i, c in enumerate(chunks)]
    if disconnect:
        messages.append({"type": "http.disconnect"})

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": PATH, "raw_path": PATH.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("test", 80),
             "headers": [(k.encode(), v.encode()) for k, v in headers]}
    await asyncio.wait_for(app(scope, receive, send), 20)
    return sent, len(messages)


async def post(app: FastAPI, headers: list[tuple[str, str]], chunks: list[bytes], *,
               disconnect: bool = False) -> int | None:
    """The response status, or None when no response was sent."""
    sent, _ = await exchange(app, headers, chunks, disconnect=disconnect)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    return None if start is None else int(start["status"])


def registration() -> bytes:
    return orjson.dumps({"command_id": str(uuid.uuid4()), "volunteer_id": str(uuid.uuid4()),
                         "display_name": "Ira"})


def events_in(app: FastAPI) -> int:
    recorder = app.state.runtime.app.recorder
    return len(recorder.select_notifications(start=1, limit=1_000_000))


CASES: dict[str, Any] = {
    "a well-formed command": lambda a, i: ([JSON, ("authorization", f"Bearer {a}")],
                                           [registration()]),
    "its body in chunks": lambda a, i: ([JSON, ("authorization", f"Bearer {a}")],
                                        [registration()[:9], registration()[9:]]),
    "an invalid token first, a valid one second": lambda a, i: (
        [JSON, ("authorization", "Bearer nope"), ("authorization", f"Bearer {a}")],
        [registration()]),
    "a token without the role first, one with it second": lambda a, i: (
        [JSON, ("authorization", f"Bearer {i}"), ("authorization", f"Bearer {a}")],
        [registration()]),
    "text first, JSON second as content type": lambda a, i: (
        [("content-type", "text/plain"), JSON, ("authorization", f"Bearer {a}")],
        [registration()]),
    "no content type": lambda a, i: ([("authorization", f"Bearer {a}")], [registration()]),
    "JSON with a charset": lambda a, i: (
        [("content-type", "application/json; charset=utf-8"), ("authorization", f"Bearer {a}")],
        [registration()]),
    "an empty body": lambda a, i: ([JSON, ("authorization", f"Bearer {a}")], [b""]),
    "a field the body may not name": lambda a, i: (
        [JSON, ("authorization", f"Bearer {a}")],
        [registration()[:-1] + b',"actor":"someone-else"}']),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_the_fast_path_answers_as_the_route_does(case: str, tmp_path: Path) -> None:
    statuses = []
    for fast in (True, False):
        async with serving(tmp_path / str(fast), fast=fast) as app:
            tokens = app.state.runtime.tokens
            headers, chunks = CASES[case](tokens.issue("admin", ["admin"]),
                                          tokens.issue("intake-bot", ["intake"]))
            statuses.append(await post(app, headers, chunks))
    fast_status, route_status = statuses
    assert fast_status == route_status


async def test_a_command_whose_client_went_away_mid_body_is_not_run(tmp_path: Path) -> None:
    async with serving(tmp_path / "fast", fast=True) as app:
        admin = app.state.runtime.tokens.issue("admin", ["admin"])
        before = events_in(app)

        status = await post(app, [JSON, ("authorization", f"Bearer {admin}")],
                            [registration()], disconnect=True)

        assert status is None  # no one is left to answer
        assert events_in(app) == before


async def respond(app: FastAPI, headers: list[tuple[str, str]],
                  chunks: list[bytes]) -> tuple[int, dict[str, Any], int]:
    """(status, JSON body, chunks the app never read) for one request."""
    sent, unread = await exchange(app, headers, chunks)
    status = next(int(m["status"]) for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, orjson.loads(body), unread


def padded(size: int) -> bytes:
    """A valid registration body of exactly `size` bytes (spaces are valid JSON)."""
    body = registration()
    return body[:-1] + b" " * (size - len(body)) + b"}"


LIMIT = 4_096


async def test_a_body_over_the_limit_is_refused_without_running_the_command(
        tmp_path: Path) -> None:
    async with serving(tmp_path, fast=True, max_body_bytes=LIMIT) as app:
        admin = app.state.runtime.tokens.issue("admin", ["admin"])
        body = padded(LIMIT + 1)
        chunks = [body[i:i + 1_000] for i in range(0, len(body), 1_000)]

        status, problem, unread = await respond(
            app, [JSON, ("authorization", f"Bearer {admin}")], chunks)

        assert status == 413
        assert problem["rule"] == "body_too_large" and str(LIMIT) in problem["detail"]
        assert unread == 0  # the last chunk crossed the limit
        assert events_in(app) == 0


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
        tmp_path: Path) -> None:
    async with serving(tmp_path, fast=True, max_body_bytes=LIMIT) as app:
        admin = app.state.runtime.tokens.issue("admin", ["admin"])
        body = padded(LIMIT * 2)
        chunks = [body[:LIMIT], body[LIMIT:]]

        status, problem, unread = await respond(
            app, [JSON, ("authorization", f"Bearer {admin}"),
                  ("content-length", str(len(body)))], chunks)

        assert (status, problem["rule"]) == (413, "body_too_large")
        assert unread == 2
        assert events_in(app) == 0


async def test_a_body_of_exactly_the_limit_is_taken(tmp_path: Path) -> None:
    async with serving(tmp_path, fast=True, max_body_bytes=LIMIT) as app:
        admin = app.state.runtime.tokens.issue("admin", ["admin"])

        status, accepted, _ = await respond(
            app, [JSON, ("authorization", f"Bearer {admin}")], [padded(LIMIT)])

        assert status == 200 and accepted["version"] >= 1
        assert events_in(app) >= 1


async def test_a_body_that_stops_arriving_gets_a_408_closing_the_connection(
        tmp_path: Path) -> None:
    async with serving(tmp_path / "fast", fast=True, body_timeout_seconds=0.2) as app:
        admin = app.state.runtime.tokens.issue("admin", ["admin"])
        before = events_in(app)

        sent, _ = await exchange(app, [JSON, ("authorization", f"Bearer {admin}")],
                                 [registration()[:9]], stall=True)

        start = next(m for m in sent if m["type"] == "http.response.start")
        body = orjson.loads(b"".join(m.get("body", b"") for m in sent
                                     if m["type"] == "http.response.body"))
        assert start["status"] == 408 and (b"connection", b"close") in start["headers"]
        assert body["rule"] == "body_timeout" and "0.2 s" in body["detail"]
        assert events_in(app) == before
