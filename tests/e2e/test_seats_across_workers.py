"""No overbooking across processes: `corridor serve --workers 2` (two HTTP worker processes,
one writer process, real PostgreSQL), 50 holds for one passenger each on a 4-seat car sent
at once from 50 volunteers: exactly 4 are accepted, 46 refused naming the rule."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.auth import TokenIssuer
from services.storage.sealing import new_master_key

SECRET = "seats-across-workers-secret-0123456789"
INTAKE = {"safe_now": False, "region": "Kharkiv", "destination": "Lviv",
          "contact_channel": "telegram", "name": "Someone"}
pytestmark = pytest.mark.postgres


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.log = process, log
        self.base = f"http://127.0.0.1:{port}"
        self.tokens = TokenIssuer(SECRET)

    def auth(self, actor: object, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue(str(actor), list(roles))}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(fresh_pg_database: str, tmp_path: Path) -> Iterator[Server]:
    port, log = _free_port(), tmp_path / "serve.log"
    env = {**os.environ, "CORRIDOR_STORE": "postgres", "CORRIDOR_PG_DSN": fresh_pg_database,
           "CORRIDOR_MASTER_KEY": new_master_key(), "CORRIDOR_AUTH_SECRET": SECRET,
           "CORRIDOR_KAFKA_BOOTSTRAP": ""}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("corridor")), "serve", "--workers", "2",
             "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Server(process, port, log)
    try:
        _wait_ready(served)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log.read_text()
        try:
            if httpx.get(f"{server.base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready in {timeout}s:\n{server.log.read_text()}")


async def _ok(client: httpx.AsyncClient, path: str, headers: dict[str, str],
              **body: Any) -> dict[str, Any]:
    reply = await client.post(f"/commands/{path}", headers=headers, json={
        "command_id": str(uuid.uuid4()), **{k: _plain(v) for k, v in body.items()}})
    assert reply.status_code == 200, f"{path}: {reply.text}"
    answer: dict[str, Any] = reply.json()
    return answer


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


async def _volunteer(client: httpx.AsyncClient, server: Server, *roles: str) -> uuid.UUID:
    person, admin = uuid.uuid4(), server.auth("admin", "admin")
    await _ok(client, "volunteers/register", admin, volunteer_id=person,
              display_name="Helper", roles=list(roles) or ["volunteer"])
    await _ok(client, "volunteers/log-training", admin, volunteer_id=person, minutes=300,
              topic="basics")
    return person


async def _taken_case(client: httpx.AsyncClient, server: Server, by: uuid.UUID) -> uuid.UUID:
    case_id = uuid.uuid4()
    await _ok(client, "cases/open", server.auth("intake-bot", "intake"), case_id=case_id,
              person_id=uuid.uuid4(), intake=INTAKE)
    await _ok(client, "cases/take", server.auth(by, "volunteer"), case_id=case_id)
    return case_id


async def test_fifty_holds_at_once_across_two_workers_accept_exactly_four(
        server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=60,
                                 limits=httpx.Limits(max_connections=60)) as client:
        reporter = await _volunteer(client, server)
        checker = await _volunteer(client, server, "fact_checker")
        car = uuid.uuid4()
        await _ok(client, "resources/report", server.auth(reporter, "volunteer"),
                  resource_id=car, kind="transport", region="Kharkiv",
                  transport={"seats": 4, "origin": "Kharkiv", "destination": "Lviv"})
        await _ok(client, "resources/verify", server.auth(checker, "fact_checker"),
                  resource_id=car)
        people = await asyncio.gather(*(_volunteer(client, server) for _ in range(50)))
        cases = await asyncio.gather(*(_taken_case(client, server, p) for p in people))

        replies = await asyncio.gather(*(client.post(
            "/commands/cases/hold-seats", headers=server.auth(person, "volunteer"),
            json={"command_id": str(uuid.uuid4()), "case_id": str(case_id),
                  "resource_id": str(car), "hold_id": str(uuid.uuid4())})
            for person, case_id in zip(people, cases, strict=True)))

        accepted = [r for r in replies if r.status_code == 200]
        refused = [r for r in replies if r.status_code != 200]
        assert len(accepted) == 4
        assert {r.status_code for r in refused} == {409}
        assert {r.json()["rule"] for r in refused} == {"NotEnoughSeats"}
        last = max(r.json()["position"] for r in accepted)
        entry = await client.get(f"/resources/{car}", params={"min_position": last},
                                 headers=server.auth(reporter, "volunteer"))
        seats = entry.json()["seats"]
        assert (seats["held"], seats["free"], len(entry.json()["holds"])) == (4, 0, 4)
