"""`corridor serve --writer-process` and `--workers 2` as users run them: HTTP worker
processes hand every command to
one writer process; idempotency, need-to-know disclosure records, read-your-writes and
shutdown hold across the processes. Real PostgreSQL, real processes, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
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
import psycopg
import pytest

from domain.access import access_log_id
from services.auth import TokenIssuer
from services.storage.sealing import new_master_key

SECRET = "serve-workers-secret-0123456789abcdef"
INTAKE = {"safe_now": False, "region": "Odesa", "destination": "Chisinau",
          "contact_channel": "phone", "name": "Iryna Workers-31"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path,
                 workers: int) -> None:
        self.process, self.port, self.log, self.workers = process, port, log, workers
        self.base = f"http://127.0.0.1:{port}"
        self.tokens = TokenIssuer(SECRET)

    def headers(self, actor: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue(actor, list(roles))}"}

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                             text=True, check=False).stdout
        return [int(p) for p in out.split()]

    def writer_pid(self) -> int:
        for pid in self.children():
            if "writer process" in Path(f"/proc/{pid}/cmdline").read_text():
                return pid
        raise AssertionError("no writer process under `corridor serve`")


@contextlib.contextmanager
def serving(dsn: str, log: Path, *args: str, **settings: str) -> Iterator[Served]:
    """`corridor serve <args>` on the database at `dsn` (CORRIDOR_<NAME> `settings` added),
    ready, and stopped with SIGTERM afterwards; its output goes to `log`."""
    port = free_port()
    env = {**os.environ, "CORRIDOR_STORE": "postgres", "CORRIDOR_PG_DSN": dsn,
           "CORRIDOR_MASTER_KEY": new_master_key(), "CORRIDOR_AUTH_SECRET": SECRET,
           "CORRIDOR_KAFKA_BOOTSTRAP": "",
           **{f"CORRIDOR_{name.upper()}": value for name, value in settings.items()}}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("corridor")), "serve", *args,
             "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Served(process, port, log,
                    workers=int(args[-1]) if args and args[0] == "--workers" else 1)
    try:
        wait_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


@pytest.fixture(params=[("--writer-process",), ("--workers", "2")], ids=["writer", "workers2"])
def served(fresh_pg_database: str, tmp_path: Path,
           request: pytest.FixtureRequest) -> Iterator[Served]:
    with serving(fresh_pg_database, tmp_path / "serve.log", *request.param) as server:
        yield server


def wait_ready(server: Served, timeout: float = 60.0, *, writer_process: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log.read_text()
        try:
            reply = httpx.get(f"{server.base}/health/ready", timeout=2)
            if reply.status_code == 200:
                assert reply.json()["checks"].get("writer") is (True if writer_process
                                                                else None)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready in {timeout}s:\n{server.log.read_text()}")


def open_case_body(case_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {"command_id": str(uuid.uuid4()), "case_id": str(case_id or uuid.uuid4()),
            "person_id": str(uuid.uuid4()), "intake": INTAKE}


def stored(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, args).fetchall()


async def test_concurrent_commands_through_both_workers_are_all_stored_once(
        served: Served, fresh_pg_database: str) -> None:
    intake = served.headers("intake-bot", "intake")
    bodies = [open_case_body() for _ in range(120)]
    async with httpx.AsyncClient(base_url=served.base, timeout=30,
                                 limits=httpx.Limits(max_connections=16)) as client:
        replies = await asyncio.gather(*(client.post("/commands/cases/open", json=b,
                                                     headers=intake) for b in bodies))
        retries = await asyncio.gather(*(client.post("/commands/cases/open", json=b,
                                                     headers=intake) for b in bodies[:20]))
    assert [r.status_code for r in replies] == [200] * 120
    accepted = [r.json() for r in replies]
    assert len({a["position"] for a in accepted}) == 120
    for retry, original in zip(retries, accepted, strict=False):
        assert retry.status_code == 200
        assert retry.json() == {**original, "duplicate": True}
    [(count,)] = stored(fresh_pg_database, "SELECT count(*) FROM corridor_events "
                        "WHERE originator_id = ANY(%s)", [uuid.UUID(b["case_id"]) for b in bodies])
    assert count == 120  # the retries stored nothing


async def test_a_worker_answers_rejections_and_bad_input_like_the_single_process(
        served: Served) -> None:
    intake = served.headers("intake-bot", "intake")
    body = open_case_body()
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        first = await client.post("/commands/cases/open", json=body, headers=intake)
        again = await client.post("/commands/cases/open", headers=intake,
                                  json={**body, "command_id": str(uuid.uuid4())})
        invalid = await client.post("/commands/cases/open", headers=intake,
                                    json={**body, "intake": {"safe_now": "perhaps"}})
        forbidden = await client.post("/commands/volunteers/register", headers=intake, json={
            "command_id": str(uuid.uuid4()), "volunteer_id": str(uuid.uuid4()),
            "display_name": "Not Allowed", "roles": ["volunteer"]})
    assert first.status_code == 200
    assert again.status_code == 409 and again.json()["rule"]
    assert invalid.status_code == 422 and invalid.json()["errors"]
    assert forbidden.status_code == 403


async def test_a_worker_leaves_bodies_the_writer_refuses_to_the_route(served: Served) -> None:
    """The HTTP worker sends a command's body to the writer process as it came; one that
    does not fit is answered as by the single process."""
    intake = {**served.headers("intake-bot", "intake"), "Content-Type": "application/json"}
    deep = json.dumps(open_case_body()).replace('"Odesa"', "[" * 300 + "]" * 300)
    shallow = json.dumps(open_case_body()).replace('"Odesa"', "[" * 150 + "]" * 150)
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        answers = [await client.post("/commands/cases/open", headers=intake, content=content)
                   for content in (b'{"command_id": "\xff\xfe"}', deep.encode(),
                                   shallow.encode(), b"{not json", b'{"command_id": 7}')]
    assert [a.status_code for a in answers] == [422] * 5
    rules = [a.json()["errors"][0]["rule"] for a in answers]
    assert rules[:2] == ["json_invalid", "json_too_deep"]
    assert answers[2].json()["errors"][0]["field"] == "intake.region"
    assert rules[3] == "json_invalid"
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)


async def test_reading_personal_data_records_the_disclosure_through_the_writer(
        served: Served, fresh_pg_database: str) -> None:
    body = open_case_body()
    supervisor = served.headers(str(uuid.uuid4()), "supervisor")
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        opened = await client.post("/commands/cases/open", json=body,
                                   headers=served.headers("intake-bot", "intake"))
        assert opened.status_code == 200
        detail = await client.get(f"/cases/{body['case_id']}", headers=supervisor)
        board = await client.get("/board", headers=supervisor, params={
            "min_position": opened.json()["position"], "wait_ms": 10_000})
    assert detail.status_code == 200
    assert detail.json()["personal"]["name"] == INTAKE["name"]
    log_id = access_log_id(uuid.UUID(body["case_id"]))
    topics = [t for (t,) in stored(fresh_pg_database, "SELECT topic FROM corridor_events WHERE "
                                   "originator_id = %s ORDER BY originator_version", log_id)]
    assert any("Viewed" in t for t in topics), topics
    assert board.status_code == 200
    assert body["case_id"] in {c["case_id"] for c in board.json()["cases"]}


def test_a_writer_process_that_dies_is_restarted_and_reads_are_served_meanwhile(
        served: Served) -> None:
    killed = served.writer_pid()
    intake, reader = served.headers("intake-bot", "intake"), served.headers("watch", "supervisor")
    body = open_case_body()
    os.kill(killed, signal.SIGKILL)

    deadline = time.monotonic() + 60
    while (reply := httpx.post(f"{served.base}/commands/cases/open", json=body,
                               headers=intake, timeout=30)).status_code != 200:
        assert reply.status_code == 503, reply.text  # until the writer answers again
        assert reply.headers["content-type"] == "application/problem+json"
        assert int(reply.headers["retry-after"]) > 0
        assert httpx.get(f"{served.base}/board", headers=reader, timeout=10).status_code == 200
        assert time.monotonic() < deadline, served.log.read_text()
        time.sleep(0.1)

    assert served.process.poll() is None  # the server stayed up
    assert served.writer_pid() != killed
    assert "starting it again" in served.log.read_text()


def test_sigterm_stops_the_workers_and_the_writer(served: Served) -> None:
    children = served.children()
    assert len(children) == served.workers + 1  # HTTP workers and the writer
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(60) == 0
    time.sleep(0.5)
    assert not [p for p in children if Path(f"/proc/{p}").exists()
                and "zombie" not in Path(f"/proc/{p}/status").read_text()]


async def test_policies_in_the_supervising_process_flag_cases_through_the_writer(
        served: Served) -> None:
    flags, bus = await flags_after_a_recall(served)

    assert [(f["reason"], f["resource_id"]) for f in flags] == [("resource_unsafe", str(bus))]


async def flags_after_a_recall(served: Served) -> tuple[list[dict[str, Any]], uuid.UUID]:
    """A case travelling on a verified bus that is then marked unsafe: the case's flags
    once the recall policy raised one (or after 20 s), and the bus."""
    admin = served.headers("admin", "admin")

    async def accepted(client: httpx.AsyncClient, path: str, headers: dict[str, str],
                       **fields: Any) -> dict[str, Any]:
        body = {"command_id": str(uuid.uuid4()),
                **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in fields.items()}}
        reply = await client.post(f"/commands/{path}", json=body, headers=headers)
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        return result

    async def member(client: httpx.AsyncClient, *roles: str) -> dict[str, str]:
        volunteer_id = uuid.uuid4()
        await accepted(client, "volunteers/register", admin, volunteer_id=volunteer_id,
                       display_name="Volunteer", roles=list(roles))
        await accepted(client, "volunteers/log-training", admin, volunteer_id=volunteer_id,
                       minutes=300, topic="basics")
        return served.headers(str(volunteer_id), *roles)

    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        volunteer = await member(client, "volunteer")
        checker = await member(client, "volunteer", "fact_checker")
        bus, case_id = uuid.uuid4(), uuid.uuid4()
        await accepted(client, "resources/report", volunteer, resource_id=bus,
                       kind="transport", region="Odesa", details="a bus")
        await accepted(client, "resources/verify", checker, resource_id=bus)
        await accepted(client, "cases/open", admin, case_id=case_id, person_id=uuid.uuid4(),
                       intake=INTAKE)
        await accepted(client, "cases/take", volunteer, case_id=case_id)
        await accepted(client, "cases/arrange-transport", volunteer, case_id=case_id,
                       resource_ids=[str(bus)])
        await accepted(client, "resources/mark-unsafe", volunteer, resource_id=bus,
                       reason="shelled")
        flags: list[dict[str, Any]] = []
        deadline = time.monotonic() + 20
        while not flags and time.monotonic() < deadline:
            detail = await client.get(f"/cases/{case_id}", headers=admin)
            assert detail.status_code == 200, detail.text
            flags = detail.json()["flags"]
            await asyncio.sleep(0.1)
    return flags, bus



async def test_the_duplicate_watch_in_the_supervising_process_marks_both_through_the_writer(
        served: Served) -> None:
    supervisor = served.headers(str(uuid.uuid4()), "supervisor")
    intake = served.headers("intake-bot", "intake")
    first, second = uuid.uuid4(), uuid.uuid4()
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        for case_id, handle in ((first, "+380 93 555 12 31"), (second, "093 555 1231")):
            body = {**open_case_body(case_id), "intake": {**INTAKE, "contact_handle": handle}}
            reply = await client.post("/commands/cases/open", json=body, headers=intake)
            assert reply.status_code == 200, reply.text
        marked: dict[uuid.UUID, list[Any]] = {}
        deadline = time.monotonic() + 20
        while len(marked) < 2 and time.monotonic() < deadline:
            for case_id in (first, second):
                detail = await client.get(f"/cases/{case_id}", headers=supervisor)
                assert detail.status_code == 200, detail.text
                found = detail.json()["duplicates"]["possible_duplicates"]
                if found:
                    marked[case_id] = found
            await asyncio.sleep(0.2)
    assert [d["case_id"] for d in marked[first]] == [str(second)]
    assert [d["case_id"] for d in marked[second]] == [str(first)]


def smaps_mb(pid: int) -> dict[str, int]:
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {line.split(":")[0]: int(line.split()[1]) // 1024 for line in lines}


def test_the_children_are_forked_from_the_supervisor_and_share_its_imported_code(
        served: Served) -> None:
    titles = sorted(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    .strip() for pid in served.children())
    workers = [f"corridor serve: HTTP worker {n}" for n in range(1, served.workers + 1)]
    assert titles == [*workers, "corridor serve: writer process"]
    supervisor = Path(f"/proc/{served.process.pid}/cmdline").read_bytes().decode()
    assert supervisor.strip("\0") == "corridor serve: supervisor, projections and policies"
    for pid in served.children():
        # Anonymous pages written before the fork and not since: only a forked child has
        # these (a process started afresh shares only files it maps, which stay clean)
        assert smaps_mb(pid)["Shared_Dirty"] >= 20, smaps_mb(pid)


def answer_to_raw(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers, body) of the server's answer to `request` sent as is."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):  # the server closes after answering
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


MALFORMED = [b"\x16\x03\x01 not http at all\r\n\r\n",
             b"POST /commands/cases/open HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             b"Content-Length: 9\r\n\r\n{}"]


def assert_malformed_answered_as_problem(port: int) -> None:
    for request in MALFORMED:
        status, headers, body = answer_to_raw(port, request)
        assert status.startswith("HTTP/1.1 400"), status
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"
        problem = json.loads(body)
        assert problem["status"] == 400 and problem["rule"] == "malformed_request"
        assert problem["detail"].startswith("malformed HTTP request")


def test_a_request_that_is_not_http_gets_a_problem_document_not_plain_text(
        served: Served) -> None:
    assert_malformed_answered_as_problem(served.port)


def test_the_single_process_answers_unparseable_requests_with_a_problem_too(
        tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CORRIDOR_STORE": "sqlite", "CORRIDOR_DATA_DIR": str(tmp_path),
           "CORRIDOR_KAFKA_BOOTSTRAP": "", "CORRIDOR_AUTH_SECRET": SECRET}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("corridor")), "serve", "--one-process",
             "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(Served(process, port, log, workers=1), writer_process=False)
        assert_malformed_answered_as_problem(port)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


async def test_once_an_erasure_is_answered_no_worker_reveals_the_data(
        served: Served) -> None:
    body = open_case_body()
    case_id = body["case_id"]
    supervisor = served.headers(str(uuid.uuid4()), "supervisor")
    auditor = served.headers("auditor-erasure", "auditor")
    views = [f"/audit/{case_id}/history", f"/audit/{case_id}/as-of?version=1",
             *(f"/audit/{case_id}/export?format={f}" for f in ("json", "csv", "html"))]

    async def read_every_view(times: int) -> list[str]:
        texts = []
        for _ in range(times):  # a new connection each: with --workers 2 both workers answer
            async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
                for view in views:
                    reply = await client.get(view, headers=auditor)
                    assert reply.status_code == 200, reply.text
                    texts.append(reply.text)
        return texts

    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        assert (await client.post("/commands/cases/open", json=body, headers=served.headers(
            "intake-bot", "intake"))).status_code == 200
        assert (await client.post("/commands/audit/grant", headers=supervisor, json={
            "command_id": str(uuid.uuid4()), "stream_id": case_id,
            "auditor": "auditor-erasure", "purpose": "complaint 9"})).status_code == 200
    before = await read_every_view(4)  # every worker now holds the person's key
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        erased = await client.post("/commands/cases/erase-personal-data", headers=supervisor,
                                   json={"command_id": str(uuid.uuid4()), "case_id": case_id})
        assert erased.status_code == 200, erased.text
    after = await read_every_view(4)

    assert all(INTAKE["name"] in text for text in before)
    assert [text for text in after if INTAKE["name"] in text] == []
