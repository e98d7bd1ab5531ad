"""`corridor rebuild` and `corridor project` on the embedded default (SQLite files)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import typer
from projection_scenario import Scenario
from typer.testing import CliRunner

from projections.catalog import PROJECTIONS
from projections.generations import live_of
from services.cli.projections import register
from services.runtime.store_follower import follow_store
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.readmodels import store_config


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("CORRIDOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CORRIDOR_STORE", "sqlite")
    monkeypatch.setenv("CORRIDOR_DATA_DIR", str(tmp_path))
    app = CorridorApplication(Settings(), os.urandom(32))
    Scenario(app).full_day(cases=8)
    app.close()
    return tmp_path


def corridor() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


async def live_generations(settings: Settings) -> dict[str, int]:
    store = store_config(settings).open()
    await store.start()
    try:
        return {n: g.generation for n, g in live_of(await store.generations()).items()}
    finally:
        await store.close()


def test_rebuild_reports_its_rate_and_switches(data_dir: Path) -> None:
    first = CliRunner().invoke(corridor(), ["rebuild"])
    second = CliRunner().invoke(corridor(), ["rebuild", "-p", "audit_trail"])

    assert first.exit_code == 0, first.output
    assert "events/s" in first.output and "(live)" in first.output
    assert second.exit_code == 0, second.output
    assert asyncio.run(live_generations(Settings())) == {
        **{p.name: 1 for p in PROJECTIONS}, "audit_trail": 2}


def test_an_unknown_read_model_is_a_usage_error(data_dir: Path) -> None:
    result = CliRunner().invoke(corridor(), ["rebuild", "-p", "gossip"])

    assert result.exit_code == 2
    assert "gossip" in result.output


def test_projecting_from_kafka_needs_a_broker(data_dir: Path) -> None:
    result = CliRunner().invoke(corridor(), ["project", "--from", "kafka"])

    assert result.exit_code == 2
    assert "CORRIDOR_KAFKA_BOOTSTRAP" in result.output


async def test_projecting_from_the_store_follows_it_until_stopped(data_dir: Path) -> None:
    settings = Settings()
    stop = asyncio.Event()
    following = asyncio.create_task(follow_store(settings, stop))

    store = store_config(settings).open()
    await store.start()
    try:
        for _ in range(200):
            positions = [p.position for p in await store.positions()]
            if len(positions) == len(PROJECTIONS) and min(positions) > 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await store.close()
    stop.set()
    await following

    assert len(positions) == len(PROJECTIONS) and min(positions) > 100
