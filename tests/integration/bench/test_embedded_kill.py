"""`corridor serve` on SQLite (the embedded default), in one process and with a writer
process, killed with SIGKILL under load: every command it acknowledged is in the store
afterwards, as the benchmark counts it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from bench.loadgen import HttpExecutor
from bench.sections.embedded import ONE_PROCESS, check_sqlite_acks, kill_under_load
from bench.server import ApiShape, start_api
from services.auth import TokenIssuer
from services.storage.sealing import new_master_key


@pytest.mark.parametrize("shape", [ONE_PROCESS, ApiShape(writer_process=True)],
                         ids=["one-process", "writer-process"])
async def test_no_acknowledged_command_is_missing_after_kill_9_of_the_embedded_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: ApiShape) -> None:
    for name in [n for n in os.environ if n.startswith("CORRIDOR_")]:  # the server gets only
        monkeypatch.delenv(name)                                        # what is given here
    secret = secrets.token_urlsafe(32)
    env = {"CORRIDOR_STORE": "sqlite", "CORRIDOR_DATA_DIR": str(tmp_path),
           "CORRIDOR_PG_DSN": "", "CORRIDOR_KAFKA_BOOTSTRAP": "",
           "CORRIDOR_MASTER_KEY": new_master_key(), "CORRIDOR_AUTH_SECRET": secret}
    api = await start_api(env, shape)
    executor = HttpExecutor(api.port, TokenIssuer(secret))
    try:
        await kill_under_load(api, executor, clients=4, seconds=3.0)
    finally:
        api.stop()
    assert api.process.returncode == -9
    check = check_sqlite_acks(tmp_path / "corridor.sqlite", executor.acks)
    assert check.acknowledged > 0
    assert check.missing == 0, check.as_json()
    assert check.position_mismatches == 0, check.as_json()
