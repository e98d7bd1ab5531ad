"""The writer answers within bounds (issue 25): beyond its queue bound a command is refused at
once (503 with Retry-After, not a timeout), a store that cannot be reached fails a batch once
instead of once per command, and a caller waits at most CORRIDOR_COMMAND_WAIT_SECONDS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import OperationalError
from writer_fakes import InMemoryRecorder, Store, answer

import services.commands.catalog  # noqa: F401  (registers every command)
from services.auth import CallerRole, Principal
from services.bootstrap import Runtime
from services.commands.registry import spec_of
from services.runtime.ipc import RemoteCommands
from services.runtime.outcomes import Accepted
from services.runtime.writer import CommandNotAnswered, WriterBusy
from services.settings import Settings


def test_beyond_its_queue_bound_the_writer_refuses_a_command_at_once() -> None:
    store = Store()
    tally_id = store.started_tally()
    store.writer.max_queued = 2
    waiting = [store.adding(tally_id, 1), store.adding(tally_id, 2)]
    for each in waiting:
        store.writer.submit(each)  # not started yet: they wait in its queue

    refused = store.writer.submit(store.adding(tally_id, 3))

    assert refused.done() and isinstance(refused.exception(), WriterBusy)
    store.writer.start()
    try:
        assert all(isinstance(answer(s.future), Accepted) for s in waiting)
        assert store.stored_tally(tally_id).total == 3  # the refused one never ran
    finally:
        store.writer.stop()


class UnreachableRecorder(InMemoryRecorder):
    """A store whose server has gone: every insert fails as psycopg's would."""

    def __init__(self) -> None:
        super().__init__()
        self.reachable = True
        self.inserts_tried = 0

    def _insert_events(self, stored_events: Any, **kwargs: Any) -> Any:
        if self.reachable:
            return super()._insert_events(stored_events, **kwargs)
        self.inserts_tried += 1
        raise OperationalError("connection refused")


def test_a_store_that_cannot_be_reached_fails_the_batch_once_not_once_per_command() -> None:
    recorder = UnreachableRecorder()
    store = Store(recorder)
    tally_id = store.started_tally()
    recorder.reachable = False

    answers = store.run(*(store.adding(tally_id, n) for n in (1, 2, 3)))

    assert all(isinstance(a, OperationalError) for a in answers)
    assert recorder.inserts_tried == 1  # each alone would wait on the store again


def open_case_body() -> Any:
    return spec_of("cases.open").body.model_validate({
        "command_id": str(uuid4()), "case_id": str(uuid4()), "person_id": str(uuid4()),
        "intake": {"safe_now": True, "region": "Kharkiv", "destination": "Lviv",
                   "contact_channel": "telegram"}})


ADMIN = Principal(actor="admin", roles=frozenset({CallerRole("admin")}))


async def test_a_command_the_writer_does_not_answer_in_time_is_answered_not_answered() -> None:
    store = Store()  # its writer is never started: nothing will answer
    runtime = Runtime(settings=Settings(command_wait_seconds=0.2), app=store.app,  # type: ignore[arg-type]
                      writer=store.writer, tokens=None)  # type: ignore[arg-type]

    with pytest.raises(CommandNotAnswered):
        await runtime.send("cases.open", open_case_body(), ADMIN)


@contextlib.asynccontextmanager
async def silent_writer_process() -> AsyncIterator[str]:
    """A socket that takes commands and never answers (a writer process stuck on a store
    that is down)."""
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "writer.sock")
        server = await asyncio.start_unix_server(swallow, path)
        try:
            yield path
        finally:
            server.close()


async def test_a_worker_refuses_commands_beyond_its_bound_and_answers_the_rest_in_time() -> None:
    async with silent_writer_process() as path:
        remote = RemoteCommands(path, max_in_flight=1)
        try:
            first = asyncio.create_task(remote.send("cases.open", open_case_body(), "admin",
                                                    timeout=0.5))
            await asyncio.sleep(0.05)  # it is waiting for the writer process
            with pytest.raises(WriterBusy):
                await remote.send("cases.open", open_case_body(), "admin", timeout=0.5)
            with pytest.raises(CommandNotAnswered):
                await first
        finally:
            remote.close()
