"""Frames between HTTP workers and the writer process: split anywhere, refused when wrong."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.ipc import (
    HEADER,
    MAX_FRAME,
    FrameError,
    FrameReader,
    WriterServer,
    _ClientConnection,
    _WriterConnection,
    frame,
)

MESSAGES = st.lists(st.fixed_dictionaries({
    "id": st.integers(min_value=0, max_value=2**40),
    "name": st.text(max_size=30), "body": st.text(max_size=200)}), min_size=1, max_size=8)


@given(MESSAGES, st.lists(st.integers(min_value=1, max_value=50), max_size=40))
def test_messages_come_out_whole_and_in_order_however_the_bytes_are_split(
        messages: list[dict[str, object]], cuts: list[int]) -> None:
    data = b"".join(frame(m) for m in messages)
    reader, received, start = FrameReader(), [], 0
    for size in cuts:
        received += reader.feed(data[start:start + size])
        start += size
    received += reader.feed(data[start:])
    assert received == messages


def test_a_frame_longer_than_the_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        FrameReader().feed(HEADER.pack(MAX_FRAME + 1) + b"{")


def test_a_frame_that_is_not_json_is_refused() -> None:
    with pytest.raises(FrameError, match="not JSON"):
        FrameReader().feed(HEADER.pack(3) + b"{x]")


def test_a_frame_without_an_integer_id_is_refused() -> None:
    with pytest.raises(FrameError, match="integer id"):
        FrameReader().feed(frame({"id": "7"}))


class NoWriter:
    """A runtime whose writer must not be reached: these requests are refused before."""

    @property
    def writer(self) -> object:
        raise AssertionError("a refused request reached the writer")


def test_the_writer_refuses_an_unknown_command_by_name() -> None:
    answer = WriterServer(NoWriter()).answer_for(
        {"id": 3, "name": "cases.teleport", "body": "{}", "actor": "a"})
    assert isinstance(answer, dict)
    assert (answer["id"], answer["error"]) == (3, "invalid")
    assert "cases.teleport" in answer["detail"]


def test_the_writer_refuses_a_body_that_does_not_fit_the_command() -> None:
    import services.commands.catalog  # noqa: F401  (registers the commands)

    answer = WriterServer(NoWriter()).answer_for(
        {"id": 4, "name": "cases.take", "body": '{"case_id": "nope"}', "actor": "a"})
    assert isinstance(answer, dict) and answer["error"] == "invalid"
    assert "case_id" in answer["detail"]


def test_the_writer_refuses_an_unknown_follow_up() -> None:
    answer = WriterServer(NoWriter()).answer_for({"id": 5, "follow_up": "Evacuate", "body": ""})
    assert isinstance(answer, dict) and answer["error"] == "invalid"


def test_the_writer_answers_a_ping_without_the_writer() -> None:
    assert WriterServer(NoWriter()).answer_for({"id": 6, "ping": 1}) == {"id": 6, "pong": 1}


class RecordingTransport:
    """Keeps what is written to it, one entry per write call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False


def test_answers_given_in_one_loop_round_leave_in_one_write_in_order() -> None:
    async def scenario() -> RecordingTransport:
        connection = _WriterConnection(WriterServer(NoWriter()))
        transport = RecordingTransport()
        connection.connection_made(transport)  # type: ignore[arg-type]
        connection.data_received(b"".join(frame({"id": n, "ping": 1}) for n in (1, 2, 3)))
        assert transport.writes == []  # not yet: at the end of the round
        await asyncio.sleep(0)
        return transport

    transport = asyncio.run(scenario())

    assert len(transport.writes) == 1
    assert FrameReader().feed(transport.writes[0]) == [{"id": n, "pong": 1} for n in (1, 2, 3)]


def test_commands_sent_in_one_loop_round_leave_for_the_writer_in_one_write() -> None:
    async def scenario() -> RecordingTransport:
        connection = _ClientConnection()
        transport = RecordingTransport()
        connection.connection_made(transport)  # type: ignore[arg-type]
        for n in (7, 8):
            connection.send({"id": n, "ping": 1})
        await asyncio.sleep(0)
        return transport

    transport = asyncio.run(scenario())

    assert len(transport.writes) == 1
    assert FrameReader().feed(transport.writes[0]) == [{"id": 7, "ping": 1}, {"id": 8, "ping": 1}]


async def test_a_full_disk_in_the_writer_process_is_a_store_full_problem_in_the_worker() -> None:
    import sqlite3
    from concurrent.futures import Future

    from eventsourcing.persistence import OperationalError

    from services.api.problems import problem_for
    from services.runtime.ipc import _outcome, _WriterConnection

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    raised = OperationalError("database or disk is full")
    raised.__cause__ = full
    done: Future[Any] = Future()
    done.set_exception(raised)
    connection = _WriterConnection(server=None)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []
    connection._queue = sent.append  # type: ignore[method-assign]

    connection._settled(7, done)
    try:
        _outcome(sent[0], "cases.open")
    except Exception as error:
        answer = problem_for(error)

    assert sent[0]["error"] == "full"
    assert answer is not None and answer.status_code == 503
    assert b'"rule":"store_full"' in answer.body
