"""Each process shape gets the parts its role needs from the one bootstrap, and no others:
one `corridor serve` process does everything; under `serve --writer-process` the writer
process stores and answers on its socket, an HTTP worker reads and forwards, the supervisor
projects and runs the policies; the command consumer needs a broker."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from command_runtime import ADMIN, sqlite_settings

from services import bootstrap
from services.commands import CATALOG
from services.runtime.ipc import RemoteCommands, WriterUnavailable
from services.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return sqlite_settings(tmp_path).model_copy(update={"reactions_in_process": True,
                                                        "projections_in_process": True})


@pytest.fixture
def socket_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="corridor-") as directory:  # short: AF_UNIX
        yield str(Path(directory) / "writer.sock")


def test_one_process_runs_the_policies_and_a_projection_runner_its_commits_wake(
        settings: Settings) -> None:
    runtime = bootstrap.for_serve(settings)
    try:
        assert runtime.reactions is not None
        assert runtime.projections is not None and runtime.projections.runner is not None
        assert runtime.projections.nudge in runtime.writer.commit_listeners
        assert runtime.remote is None and runtime.kafka is None
    finally:
        runtime.close()


def test_one_process_leaves_policies_and_projecting_configured_elsewhere_alone(
        settings: Settings) -> None:
    elsewhere = settings.model_copy(update={"reactions_in_process": False,
                                            "projections_in_process": False})
    runtime = bootstrap.for_serve(elsewhere)
    try:
        assert runtime.reactions is None
        assert runtime.projections is not None and runtime.projections.runner is None
    finally:
        runtime.close()


async def test_the_writer_process_answers_on_its_socket_and_leaves_the_rest_to_others(
        settings: Settings, socket_path: str) -> None:
    loop = asyncio.get_running_loop()
    runtime = await asyncio.to_thread(bootstrap.for_writer_process, settings, loop, socket_path)
    remote = RemoteCommands(socket_path)
    try:
        async with runtime.running():
            assert await remote.ping()
            assert runtime.reactions is None
            assert runtime.projections is not None and runtime.projections.runner is None
    finally:
        remote.close()


async def test_an_http_worker_sends_its_commands_to_the_writer_process(
        settings: Settings, socket_path: str) -> None:
    worker = settings.model_copy(update={"writer_socket": socket_path})
    runtime = await asyncio.to_thread(bootstrap.for_api, worker)
    body = CATALOG["volunteers.register"].body.model_validate(
        {"command_id": uuid4(), "volunteer_id": uuid4(), "display_name": "Taras"})
    async with runtime.running():
        assert runtime.reactions is None and runtime.kafka is None
        assert runtime.projections is not None and runtime.projections.runner is None

        with pytest.raises(WriterUnavailable):  # no writer process listens
            await runtime.send("volunteers.register", body, ADMIN)

        assert not runtime.app.recorder.max_notification_id()  # nothing stored here


async def test_the_supervisor_projects_and_runs_the_policies_unless_they_run_elsewhere(
        settings: Settings, socket_path: str) -> None:
    bootstrap.for_reading(settings).close()  # the writer process made the store first
    background = bootstrap.for_background(settings, socket_path)
    stopped = asyncio.Event()
    stopped.set()
    await background.run(stopped)
    elsewhere = bootstrap.for_background(settings.model_copy(update={
        "reactions_in_process": False, "projections_in_process": False}), socket_path)

    assert background.reactions is not None and background.project
    assert not background.settings.create_tables  # the writer process created the tables
    assert elsewhere.reactions is None and not elsewhere.project


def test_the_command_consumer_needs_a_broker(settings: Settings) -> None:
    with pytest.raises(ValueError, match="CORRIDOR_KAFKA_BOOTSTRAP"):
        bootstrap.for_command_consumer(settings)
