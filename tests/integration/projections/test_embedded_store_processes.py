"""The embedded store served by several processes (`corridor serve --writer-process` on
SQLite): the supervisor's projections and policies are woken by the writer's commits to the
file, not by their poll, and the HTTP workers learn every board change the supervisor
commits, in order. Real SQLite files, each side on its own connections."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from projection_checks import woken_by_news_not_by_the_poll

from projections.sqlite_store import SQLiteStore, board_changes_after
from projections.sqlite_watch import watch_commits
from projections.tracking import Touched, board_payload
from services.settings import Settings
from services.storage.application import CorridorApplication


def embedded(data_dir: Path) -> Settings:
    """The settings of one of `corridor serve`'s several processes on the embedded store."""
    return Settings(store="sqlite", data_dir=data_dir, writer_process=True,
                    projections_in_process=True, reactions_in_process=False)


async def test_a_commit_by_another_connection_is_noticed_and_none_is_made_up(
        tmp_path: Path) -> None:
    path = tmp_path / "watched.sqlite"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    stop, noticed = asyncio.Event(), []
    watching = asyncio.create_task(watch_commits(path, lambda _c: noticed.append(1), stop))
    await asyncio.sleep(0.1)
    quiet = len(noticed)
    writer.execute("INSERT INTO t VALUES (1)")
    for _ in range(200):
        if noticed[quiet:]:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await watching
    writer.close()

    assert quiet == 0
    assert len(noticed) == 1


async def test_a_look_that_fails_is_made_again_and_the_watch_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "watched.sqlite"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    stop, calls = asyncio.Event(), []

    def flaky(_conn: sqlite3.Connection) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")

    watching = asyncio.create_task(watch_commits(path, flaky, stop, on_open=lambda _c: None))
    await asyncio.sleep(0.05)
    writer.execute("INSERT INTO t VALUES (1)")
    for _ in range(300):
        if len(calls) >= 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await watching
    writer.close()

    assert len(calls) == 2  # the failed look, then the same commit again


async def test_the_supervisor_is_woken_by_the_writers_commits_not_by_its_poll(
        sqlite_app: CorridorApplication, tmp_path: Path) -> None:
    await woken_by_news_not_by_the_poll(sqlite_app, embedded(tmp_path))


async def test_board_changes_reach_the_other_processes_in_order(tmp_path: Path) -> None:
    path = tmp_path / "readmodels.sqlite"
    supervisor, worker = SQLiteStore(path, shared=True), SQLiteStore(path, shared=True)
    await supervisor.start()
    await worker.start()
    heard: list[Touched] = []
    await worker.listen_board(heard.append)
    await asyncio.sleep(0.05)
    sent = [Touched(frozenset({f"case-{i}"}), frozenset({f"resource-{i}"}))
            for i in range(5)]
    try:
        for touched in sent:
            await supervisor.commit([], touched=touched)
        for _ in range(200):
            if len(heard) >= len(sent):
                break
            await asyncio.sleep(0.01)
    finally:
        await supervisor.close()
        await worker.close()

    assert heard == sent


async def test_one_process_alone_writes_no_board_changes(tmp_path: Path) -> None:
    path = tmp_path / "readmodels.sqlite"
    alone = SQLiteStore(path)
    await alone.start()
    heard: list[Touched] = []
    await alone.listen_board(heard.append)
    touched = Touched(frozenset({"case-1"}))
    try:
        await alone.commit([], touched=touched)
        rows = await alone.fetch("SELECT count(*) AS n FROM board_changes")
    finally:
        await alone.close()

    assert heard == [touched]  # handed on in the process, at once
    assert rows == [{"n": 0}]


def test_changes_pruned_before_they_were_read_make_every_stream_reload() -> None:
    one, two = Touched(frozenset({"a"})), Touched(frozenset({"b"}))
    rows = [(7, board_payload(one)), (8, board_payload(two))]

    assert board_changes_after(6, rows) == ([one, two], 8)
    assert board_changes_after(4, rows) == ([Touched(everything=True), one, two], 8)
    assert board_changes_after(0, rows) == ([one, two], 8)  # the first look: nothing missed
    assert board_changes_after(8, []) == ([], 8)
