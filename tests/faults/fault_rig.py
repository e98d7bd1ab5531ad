"""The real components a fault case starts and breaks: throwaway PostgreSQL and Kafka servers
(deploy/services.py), corridor processes (`serve`, `serve --writer-process`, `relay`,
`project --from kafka`) as subprocesses, and the outside restarter (what systemd does with
`Restart=on-failure`): the same command again, timed until ready."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from services.auth import TokenIssuer

REPO = Path(__file__).resolve().parents[2]
SECRET = "fault-suite-secret-0123456789abcdef"
CORRIDOR = str(Path(sys.executable).with_name("corridor"))


def free_port() -> int:
    """A free port below the ephemeral range (deploy/services.py's rule), so that a server
    restarted on it is not beaten to it by some client connection's local end."""
    port: int = services_module().free_port()
    return port


def services_module() -> ModuleType:
    """deploy/services.py, loaded as a module for its PostgreSQL and Kafka helpers."""
    spec = importlib.util.spec_from_file_location("corridor_deploy_services",
                                                  REPO / "deploy" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ThrowawayServers:
    """PostgreSQL and/or Kafka of this suite's own (never the shared ones), in `state_dir`.

    Started and finally stopped with `deploy/services.py`; an outage stops the same server
    and starts it again on the same port and data, as an operator's restart would."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.services = services_module()
        self.state = self.services.State(state_dir)

    def _start(self, what: str) -> str:
        env = {k: v for k, v in os.environ.items()
               if k not in ("CORRIDOR_TEST_PG_DSN", "CORRIDOR_TEST_KAFKA_BOOTSTRAP")}
        out = subprocess.run([sys.executable, str(REPO / "deploy" / "services.py"), what,
                              "--state-dir", str(self.state_dir)], env=env, check=True,
                             capture_output=True, text=True, timeout=180).stdout
        for line in out.splitlines():
            if line.startswith("export "):
                return line.split("=", 1)[1].strip().strip("'\"")
        raise AssertionError(f"{what} printed no export line: {out}")

    def start_postgres(self) -> str:
        return self._start("start-postgres")

    def start_kafka(self) -> str:
        return self._start("start-kafka")

    def stop_all(self) -> None:
        subprocess.run([sys.executable, str(REPO / "deploy" / "services.py"), "stop",
                        "--state-dir", str(self.state_dir)], check=False, timeout=120)

    # PostgreSQL outage: pg_ctl stop -m fast, later pg_ctl start on the same port and data
    def _pg_ctl(self, *args: str, check: bool = True) -> bool:
        info = self.state.load()["postgres"]
        user = self.services.pg_os_user() if info.get("os_user") else None
        root = Path(info["root"])
        result = self.services.run_as(
            user, [str(Path(info["bindir"]) / "pg_ctl"), "-D", str(root / "data"), *args],
            cwd=root, timeout=90)
        assert result.returncode == 0 or not check, \
            f"pg_ctl {args}: {result.stdout} {result.stderr}"
        return bool(result.returncode == 0)

    def stop_postgres(self) -> str:
        """Stop the server as an operator would: SIGINT to the postmaster (fast shutdown);
        after 15 s SIGQUIT (immediate, as a crash), after 15 s more SIGKILL. Signals, not
        `pg_ctl stop`: under deploy/test.sh the postmaster's parent is the test runner (a
        child subreaper), and pg_ctl was seen waiting out its timeout for a server that
        had stopped. Returns how it stopped."""
        data = Path(self.state.load()["postgres"]["root"]) / "data"
        pid = int((data / "postmaster.pid").read_text().split()[0])
        for mode, signum in (("fast", signal.SIGINT), ("immediate", signal.SIGQUIT),
                             ("killed", signal.SIGKILL)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
            deadline = time.monotonic() + 15
            while running(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not running(pid):
                return mode
        raise AssertionError(f"the postmaster {pid} did not stop")

    def restart_postgres(self) -> None:
        info = self.state.load()["postgres"]
        root = Path(info["root"])
        lock = root / "data" / "postmaster.pid"
        if lock.exists() and not running(int(lock.read_text().split()[0])):
            lock.unlink()  # a killed postmaster's: a zombie's pid would look alive to it
        deadline = time.monotonic() + 60
        while not self._pg_ctl("-l", str(root / "postgres.log"), "-o", f"-p {info['port']}",
                               "-w", "-t", "60", "start", check=False):
            # as an operator would: look at why, and try again while that can help
            log = self.services.tail(root / "postgres.log", 30)
            assert time.monotonic() < deadline, f"PostgreSQL did not start again:\n{log}"
            time.sleep(1.0)
        pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
        self.state.update("postgres", {**info, "pid": pid})

    # Kafka outage: SIGTERM to the broker, later the same java command on the same config
    def stop_kafka(self) -> None:
        info = self.state.load()["kafka"]
        pid = int(info["pid"])
        os.kill(pid, signal.SIGTERM)
        assert self.services.wait_gone(pid, info.get("start_time"), 60), "broker did not stop"

    def restart_kafka(self, timeout: float = 90.0) -> None:
        info = self.state.load()["kafka"]
        kdir = Path(info["root"])
        with (kdir / "kafka.log").open("ab") as log:
            proc = subprocess.Popen(
                [*self.services.java_cmd(self.services.kafka_libs(), kdir), "kafka.Kafka",
                 str(kdir / "server.properties")], cwd=kdir, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.state.update("kafka", {**info, "pid": proc.pid,
                                    "start_time": self.services.proc_start_time(proc.pid)})
        deadline = time.monotonic() + timeout
        while not self.services.kafka_api_versions("127.0.0.1", int(info["port"])):
            assert proc.poll() is None, "the broker exited on restart"
            assert time.monotonic() < deadline, "the broker did not come back"
            time.sleep(0.2)


def running(pid: int) -> bool:
    """The process exists and is not a zombie waiting for its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@dataclass
class Proc:
    """One corridor process: its command, environment and log, restartable as systemd would."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([CORRIDOR, *self.args], env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.exits.append(self.process.wait(30))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True, text=True,
                             check=False).stdout
        return [int(p) for p in out.split()]

    def child_titled(self, title: str) -> int:
        for pid in self.children():
            try:
                if title in Path(f"/proc/{pid}/cmdline").read_text():
                    return pid
            except FileNotFoundError:
                continue
        raise AssertionError(f"no child '{title}' under {self.name}:\n{self.tail()}")


class Api(Proc):
    """`corridor serve` (either shape) with its base URL and tokens."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int) -> None:
        super().__init__("api", [*args, "--port", str(port)], env, log)
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.tokens = TokenIssuer(SECRET)

    def headers(self, actor: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue(actor, list(roles))}"}

    async def ready(self, client: httpx.AsyncClient) -> tuple[int, Any]:
        reply = await client.get(f"{self.base}/health/ready", timeout=5)
        try:
            body = reply.json()
        except ValueError:
            body = reply.text
        return reply.status_code, body

    async def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds until /health/ready answered 200 (the process must stay up meanwhile)."""
        started = time.monotonic()
        async with httpx.AsyncClient() as client:
            while True:
                assert self.alive(), f"{self.name} exited:\n{self.tail()}"
                try:
                    if (await self.ready(client))[0] == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                assert time.monotonic() - started < timeout, \
                    f"not ready in {timeout}s:\n{self.tail()}"
                await asyncio.sleep(0.05)


def base_env(store: str, *, dsn: str | None = None, data_dir: Path | None = None,
             kafka: str | None = None, prefix: str = "", projections_in_process: bool = True,
             master_key: str) -> dict[str, str]:
    env = {**os.environ, "CORRIDOR_STORE": store, "CORRIDOR_MASTER_KEY": master_key,
           "CORRIDOR_AUTH_SECRET": SECRET, "CORRIDOR_KAFKA_BOOTSTRAP": kafka or "",
           "CORRIDOR_KAFKA_TOPIC_PREFIX": prefix or "corridor.",
           "CORRIDOR_KAFKA_EVENT_PARTITIONS": "3",
           "CORRIDOR_PROJECTIONS_IN_PROCESS": "true" if projections_in_process else "false"}
    if dsn is not None:
        env["CORRIDOR_PG_DSN"] = dsn
    if data_dir is not None:
        env["CORRIDOR_DATA_DIR"] = str(data_dir)
    return env
