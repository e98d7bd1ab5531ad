"""kill -9 under load: of the writer process (its supervisor must restart it), of the whole
API in both shapes, of `corridor relay`, of a `corridor project --from kafka` worker and of
`corridor command-consumer` (the test restarts those as systemd would, with the same command,
and times their recovery)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_case import Case, assert_checks, assert_no_text_5xx, check, run
from fault_checks import Target, exactly_once, stored_records
from fault_kafka_load import KafkaLoad, reply_figures
from fault_load import first_success_after
from fault_rig import Api, Proc, base_env, free_port

from services.settings import Settings
from services.storage.sealing import new_master_key

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.kafka,
              pytest.mark.timeout(240)]
RESTART_DELAY = 1.0  # systemd's RestartSec=1
CONSUMER_BACK_TIMEOUT = 60.0


def topic_of(prefix: str, name: str = "events") -> str:
    return Settings(kafka_topic_prefix=prefix).topic(name)


@pytest.fixture
def case_factory(fresh_pg_database: str, kafka_bootstrap: str, kafka_topic_prefix: str,
                 tmp_path: Path) -> Iterator[dict[str, object]]:
    made: list[Case] = []
    (tmp_path / "tmp").mkdir()

    def make(api_args: list[str], *, api_kafka: bool, relay: bool = False,
             worker: bool = False, consumer: bool = False) -> Case:
        key = new_master_key()
        env = base_env("postgres", dsn=fresh_pg_database, master_key=key,
                       kafka=kafka_bootstrap, prefix=kafka_topic_prefix,
                       projections_in_process=not worker)
        env["TMPDIR"] = str(tmp_path / "tmp")  # the writer socket's directory goes here
        api_env = env if api_kafka else {**env, "CORRIDOR_KAFKA_BOOTSTRAP": ""}
        api = Api(["serve", *api_args], api_env, tmp_path / "api.log", free_port())
        case = Case(api, Target("postgres", key, dsn=fresh_pg_database),
                    kafka=kafka_bootstrap, topic=topic_of(kafka_topic_prefix),
                    prefix=kafka_topic_prefix)
        if relay:
            case.others.append(Proc("relay", ["relay"], env, tmp_path / "relay.log"))
        if worker:
            case.others.append(Proc("projection worker", ["project", "--from", "kafka"], env,
                                    tmp_path / "worker.log"))
        if consumer:  # the policies run in the API's supervisor, not here too
            case.others.append(Proc("command consumer", ["command-consumer"],
                                    {**env, "CORRIDOR_REACTIONS_IN_PROCESS": "false"},
                                    tmp_path / "consumer.log"))
        made.append(case)
        return case

    yield {"make": make, "tmp": tmp_path / "tmp"}
    for case in made:
        case.stop()


async def start(case: Case) -> float:
    case.api.start()
    seconds = await case.api.wait_ready()
    for process in case.others:
        process.start()
    return seconds


async def restart_later(process: Proc) -> float:
    """What systemd does with Restart=always, RestartSec=1: returns when it started again."""
    await asyncio.sleep(RESTART_DELAY)
    process.start()
    return time.monotonic()


async def test_a_killed_writer_process_is_restarted_by_its_supervisor(case_factory, figures):
    figures.title = "kill -9 of the writer process (serve --writer-process)"
    case: Case = case_factory["make"](["--writer-process"], api_kafka=True)
    figures["started_ready_s"] = round(await start(case), 2)

    async def kill_writer() -> float:
        writer = case.api.child_titled("writer process")
        os.kill(writer, signal.SIGKILL)
        figures["injected"] = "SIGKILL to the writer process; nobody outside restarts anything"
        return time.monotonic()

    load, ended = await run(case, figures, kill_writer)
    await check(case, figures, load, ended)
    figures["writer_restarted"] = case.api.alive() and bool(case.api.children())
    assert case.api.alive(), f"the API stopped with its writer:\n{case.api.tail()}"
    assert figures["time_to_ready_s"] is not None, "never ready again"
    assert_no_text_5xx(load)
    assert_checks(case, figures)


@pytest.mark.parametrize("shape", ["serve", "serve --writer-process"])
async def test_a_killed_api_restarted_by_systemd_loses_nothing(case_factory, figures, shape):
    figures.title = f"kill -9 of the whole API ({'corridor ' + shape})"
    args = ["--writer-process"] if "writer" in shape else []
    case: Case = case_factory["make"](args, api_kafka=True)
    figures["started_ready_s"] = round(await start(case), 2)

    async def kill_api() -> float:
        victims = [case.api.pid, *case.api.children()]
        for pid in victims:  # as systemd's cgroup kill: the supervisor and its children
            os.kill(pid, signal.SIGKILL)
        assert case.api.process is not None
        case.api.exits.append(case.api.process.wait(30))
        figures["injected"] = f"SIGKILL to {len(victims)} process(es), restarted after " \
                              f"{RESTART_DELAY:.0f} s with the same command"
        return await restart_later(case.api)

    load, ended = await run(case, figures, kill_api)
    await check(case, figures, load, ended)
    case.api.stop()
    leftovers = sorted(p.name for p in case_factory["tmp"].iterdir())
    figures["temp_entries_left_after_clean_stop"] = len(leftovers)
    assert figures["time_to_ready_s"] is not None, "never ready again"
    assert_no_text_5xx(load)
    figures["processes_alive"]["api"] = True  # stopped by the test after the checks
    assert_checks(case, figures)
    assert not leftovers, f"the crashed run's writer-socket directory is left: {leftovers}"


def killer(victim: Proc, figures: Any, what: str) -> Callable[[], Awaitable[float]]:
    """The fault of the kill cases below: after 2 s of work, SIGKILL to `victim` and a
    restart with the same command after RESTART_DELAY (as systemd would)."""

    async def kill() -> float:
        await asyncio.sleep(2)
        victim.kill9()
        figures["injected"] = f"SIGKILL to {what}, restarted after {RESTART_DELAY:.0f} s"
        return await restart_later(victim)

    return kill


async def test_a_killed_relay_restarted_by_systemd_publishes_everything(case_factory,
                                                                        figures):
    figures.title = "kill -9 of `corridor relay`"
    case: Case = case_factory["make"](["--writer-process"], api_kafka=False, relay=True)
    figures["started_ready_s"] = round(await start(case), 2)
    relay = case.others[0]

    load, ended = await run(case, figures, killer(relay, figures, "the relay"))
    await check(case, figures, load, ended)
    assert_no_text_5xx(load)
    assert_checks(case, figures)


async def test_a_killed_projection_worker_restarted_by_systemd_repeats_no_row(case_factory,
                                                                            figures):
    figures.title = "kill -9 of a projection worker (`corridor project --from kafka`)"
    case: Case = case_factory["make"](["--writer-process"], api_kafka=True, worker=True)
    figures["started_ready_s"] = round(await start(case), 2)
    worker = case.others[0]

    load, ended = await run(case, figures, killer(worker, figures, "the worker"))
    await check(case, figures, load, ended)
    assert_no_text_5xx(load)
    assert_checks(case, figures)


async def test_a_killed_command_consumer_restarted_by_systemd_answers_each_command_once(
        case_factory, figures):
    figures.title = "kill -9 of `corridor command-consumer`"
    case: Case = case_factory["make"](["--writer-process"], api_kafka=False, relay=True,
                                      consumer=True)
    figures["started_ready_s"] = round(await start(case), 2)
    consumer = case.others[1]
    assert case.kafka is not None and case.prefix is not None
    bot = case.api.headers("intake-bot", "intake")["Authorization"]
    kafka_load = KafkaLoad(case.kafka, topic_of(case.prefix, "commands"),
                           topic_of(case.prefix, "command-replies"), bot)
    await kafka_load.start()

    try:  # commands are in flight on the topic when it dies
        load, ended = await run(case, figures, killer(
            consumer, figures, "the command consumer under load over the command topic"))
        waited = time.monotonic()  # the restarted consumer waits out its dead predecessor's
        while first_success_after(kafka_load, ended) is None and \
                time.monotonic() - waited < CONSUMER_BACK_TIMEOUT:  # session in the group
            await asyncio.sleep(0.2)
    finally:
        await kafka_load.stop()
    figures["kafka_load"] = reply_figures(kafka_load)
    answered = sorted(a.at + a.seconds for c in kafka_load.commands for a in c.attempts
                      if a.status == 200 and a.at + a.seconds >= ended)
    figures["kafka_first_answer_after_restart_s"] = \
        round(answered[0] - ended, 2) if answered else None
    first = first_success_after(kafka_load, ended)
    figures["kafka_time_to_first_acknowledged_s"] = None if first is None else round(first, 2)
    await check(case, figures, load, ended)
    figures["kafka_commands"] = exactly_once(
        kafka_load, await asyncio.to_thread(stored_records, case.target))
    kafka_commands, replies = figures["kafka_commands"], figures["kafka_load"]
    assert kafka_commands["acknowledged"] > 0, "no command on the topic was answered"
    assert kafka_commands["lost"] == 0, f"acknowledged commands lost: {kafka_commands}"
    assert kafka_commands["duplicated"] == 0, f"commands applied twice: {kafka_commands}"
    assert kafka_commands["misplaced"] == 0, kafka_commands
    assert replies["not_answered"] == 0, f"commands never answered: {replies}"
    assert replies["outcome_changed_on_redelivery"] == 0, replies
    assert figures["kafka_time_to_first_acknowledged_s"] is not None, \
        f"nothing sent after the restart was answered:\n{consumer.tail()}"
    assert_no_text_5xx(load)
    assert_checks(case, figures)
