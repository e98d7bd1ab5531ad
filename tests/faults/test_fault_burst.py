"""A burst: five times the steady command load for 30 s against `corridor serve
--writer-process` with a small writer queue bound (CORRIDOR_COMMAND_QUEUE_MAX), so that the
burst goes past it. Beyond the bound a command must get a 503 problem with Retry-After at
once (load shedding), not wait in a growing queue for a timeout; a careful client retries it
with the same command id. Afterwards nothing acknowledged is lost or stored twice, and every
command was answered within the bounded wait. How fast the answers are back to their steady
p99 after the burst is recorded (docs/reliability.md), not asserted: speeds are figures."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fault_case import Case, assert_checks, assert_no_text_5xx, check, run
from fault_checks import Target, exactly_once, stored_records
from fault_load import Attempt, Load, past_bound, summary
from fault_rig import Api, base_env, free_port

from services.settings import Settings
from services.storage.sealing import new_master_key

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.kafka,
              pytest.mark.timeout(240)]
STEADY_CLIENTS, BURST_FACTOR, BURST_SECONDS = 4, 5, 30.0
QUEUE_MAX = 8  # below the burst's concurrency, so the burst is shed rather than queued
BOUNDED_WAIT = float(Settings.model_fields["command_wait_seconds"].default)
STEADY_SECONDS = 5.0  # steady load alone before the burst, after the warm-up: its p99
AFTER_SECONDS = 12.0  # steady load after the burst: time for its p99 to come back
BUCKET = 1.0  # seconds per p99 sample after the burst


def p99_ms(attempts: list[Attempt]) -> float | None:
    times = sorted(a.seconds for a in attempts if a.status == 200)
    return round(times[max(0, int(len(times) * 0.99) - 1)] * 1000, 1) if times else None


def sent_between(load: Load, start: float, end: float) -> list[Attempt]:
    return [a for c in load.commands for a in c.attempts if start <= a.at < end]


def back_to_normal(load: Load, burst_end: float, normal_ms: float) -> tuple[float | None,
                                                                            list[Any]]:
    """Seconds after the burst from which every BUCKET's p99 of steady commands stays within
    `normal_ms`, and each bucket's p99."""
    samples: list[Any] = []
    start = burst_end
    while start + BUCKET <= load.stopped:
        samples.append(p99_ms(sent_between(load, start, start + BUCKET)))
        start += BUCKET
    for index in range(len(samples)):
        if all(p is None or p <= normal_ms for p in samples[index:]):
            return index * BUCKET, samples
    return None, samples


async def test_a_burst_of_five_times_the_load_is_shed_and_loses_nothing(
        fresh_pg_database: str, kafka_bootstrap: str, kafka_topic_prefix: str,
        tmp_path: Path, figures: Any) -> None:
    figures.title = (f"a burst: {BURST_FACTOR}x the command load for {BURST_SECONDS:.0f} s "
                     f"(writer queue bound {QUEUE_MAX})")
    key = new_master_key()
    env = {**base_env("postgres", dsn=fresh_pg_database, master_key=key, kafka=kafka_bootstrap,
                      prefix=kafka_topic_prefix),
           "CORRIDOR_COMMAND_QUEUE_MAX": str(QUEUE_MAX)}
    api = Api(["serve", "--writer-process"], env, tmp_path / "api.log", free_port())
    case = Case(api, Target("postgres", key, dsn=fresh_pg_database), kafka=kafka_bootstrap,
                topic=Settings(kafka_topic_prefix=kafka_topic_prefix).topic("events"),
                clients=STEADY_CLIENTS)
    extra = case.load()
    extra.clients = STEADY_CLIENTS * (BURST_FACTOR - 1)
    window: dict[str, float] = {}

    async def burst() -> float:
        window["steady"] = time.monotonic()  # past the warm-up: the steady p99 is taken here
        await asyncio.sleep(STEADY_SECONDS)
        window["start"] = time.monotonic()
        extra.start()
        await asyncio.sleep(BURST_SECONDS)
        window["end"] = time.monotonic()
        await extra.stop()  # its commands in flight are settled (retried) first
        figures["injected"] = f"{extra.clients} more clients beside the steady " \
                              f"{STEADY_CLIENTS} for {BURST_SECONDS:.0f} s (each sends its " \
                              f"next command 50 ms after the last is answered)"
        return window["end"]

    try:
        api.start()
        figures["started_ready_s"] = round(await api.wait_ready(), 2)
        load, ended = await run(case, figures, burst, after_seconds=AFTER_SECONDS)
        await check(case, figures, load, ended)
        both = [*load.commands, *extra.commands]
        everyone = SimpleNamespace(commands=both,
                                   acknowledged=[c for c in both if c.answer is not None])
        records = await asyncio.to_thread(stored_records, case.target)
        figures["all_commands"] = exactly_once(everyone, records)  # type: ignore[arg-type]
    finally:
        case.stop()
    steady = p99_ms(sent_between(load, window["steady"], window["start"]))
    during = [*sent_between(load, window["start"], window["end"]), *extra_attempts(extra)]
    normal = 2 * (steady or 0)
    recovered, samples = back_to_normal(load, window["end"], normal)
    shed = [a for a in during if a.status == 503]
    figures["burst_load"] = summary(extra)
    figures["p99_ms (steady before; during the burst, all clients)"] = [steady, p99_ms(during)]
    figures["answers_during_burst"] = {
        "sent": len(during), "200": sum(a.status == 200 for a in during),
        "503 shed": len(shed),
        "503 with Retry-After": sum(a.retry_after is not None for a in shed),
        "longest_wait_s": round(max((a.seconds for a in during), default=0), 2)}
    figures["steady p99_ms per second after the burst"] = samples
    figures["p99 back within 2x steady (s after the burst)"] = recovered
    slow = [*past_bound(load, [a for c in load.commands for a in c.attempts], BOUNDED_WAIT),
            *past_bound(extra, extra_attempts(extra), BOUNDED_WAIT)]
    figures["past_bounded_wait (waited s, suite stalled s)"] = slow
    all_commands = figures["all_commands"]
    assert all_commands["lost"] == 0, f"acknowledged commands lost: {all_commands}"
    assert all_commands["duplicated"] == 0, f"commands stored twice: {all_commands}"
    assert all_commands["misplaced"] == 0, all_commands
    assert not slow, f"{len(slow)} commands waited past {BOUNDED_WAIT} s: {slow[:5]}"
    assert all(a.retry_after is not None and "problem+json" in a.content_type for a in shed), \
        "a shed command got no problem document with Retry-After"
    assert_no_text_5xx(load)
    assert_no_text_5xx(extra)
    assert_checks(case, figures)


def extra_attempts(extra: Load) -> list[Attempt]:
    return [a for c in extra.commands for a in c.attempts]
