"""A database that cannot be reached is a 503 problem with Retry-After, whichever driver says
so (issue 25): reads while PostgreSQL is down answered `500 text/plain`."""

from __future__ import annotations

import errno
import sqlite3

import asyncpg
import psycopg
import pytest
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import PoolTimeout

from services.api.problems import install, problem_for
from services.runtime.writer import CommandNotAnswered, WriterBusy

STORE_DOWN = [
    OperationalError("connection refused"), InterfaceError("connection already closed"),
    psycopg.OperationalError("server closed the connection unexpectedly"),
    PoolTimeout("couldn't get a connection after 5.00 sec"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    ConnectionRefusedError(111, "Connect call failed"), ConnectionResetError(),
]


@pytest.mark.parametrize("error", STORE_DOWN, ids=lambda e: type(e).__name__)
def test_a_store_that_cannot_be_reached_is_a_503_store_unavailable_with_retry_after(
        error: Exception) -> None:
    response = problem_for(error)

    assert response is not None and response.status_code == 503
    assert response.media_type == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert b'"rule":"store_unavailable"' in response.body


@pytest.mark.parametrize(("error", "rule"), [
    (WriterBusy.queue_full(4096), "writer_busy"),
    (CommandNotAnswered(5.0), "command_not_answered"),
])
def test_a_writer_that_cannot_take_or_answer_a_command_is_a_503_with_retry_after(
        error: Exception, rule: str) -> None:
    response = problem_for(error)

    assert response is not None and response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert f'"rule":"{rule}"'.encode() in response.body


def test_a_read_route_whose_database_refuses_answers_a_problem_not_text() -> None:
    app = FastAPI()
    install(app)

    @app.get("/board")
    async def board() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    response = TestClient(app).get("/board")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"]
    assert response.json()["rule"] == "store_unavailable"


def sqlite_full_error() -> OperationalError:
    """What eventsourcing's SQLite recorder raises when a write finds the disk full (a
    database capped at its one page, the same SQLITE_FULL as a full disk)."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (x BLOB)")
    connection.execute("PRAGMA max_page_count = 2")
    try:
        connection.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as full:
        try:
            raise OperationalError(full) from full
        except OperationalError as wrapped:
            return wrapped
    raise AssertionError("the capped database took the row")


@pytest.mark.parametrize("error", [
    sqlite_full_error(), OSError(errno.ENOSPC, "No space left on device"),
    psycopg.errors.DiskFull("could not extend file: No space left on device"),
], ids=["sqlite", "enospc", "postgres"])
def test_a_full_disk_is_a_503_store_full_that_says_so(error: Exception) -> None:
    response = problem_for(error)

    assert response is not None and response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert b'"rule":"store_full"' in response.body and b"disk is full" in response.body
