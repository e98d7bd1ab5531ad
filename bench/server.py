"""The API under test: `corridor serve` (uvicorn, uvloop + httptools) as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.httpclient import Connection, get_request
from bench.processes import Helper
from bench.procstat import PeakPss, peak_rss_mb, process_tree, role_of

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ApiShape:
    """How the API under test is served: as one process (`corridor serve`), or as HTTP
    worker process(es) beside a writer process, under a supervisor that projects
    (`corridor serve --writer-process [--workers N]`)."""

    writer_process: bool = True
    workers: int = 1
    flags: bool = True
    """False: `corridor serve` with no flag, as it runs by default (a writer process on a
    machine of two cores or more, `writer_process` says which it is here)."""

    @classmethod
    def default(cls) -> ApiShape:
        """`corridor serve` as the README's first command runs it."""
        return cls(writer_process=(os.cpu_count() or 1) >= 2, flags=False)

    @property
    def args(self) -> list[str]:
        if not self.flags:
            return []
        if not self.writer_process:
            return ["--one-process"]
        return ["--writer-process", *(["--workers", str(self.workers)] if self.workers > 1
                                      else [])]

    @property
    def label(self) -> str:
        if not self.flags:
            return "`corridor serve`"
        return f"`corridor serve {' '.join(self.args)}`"

    @property
    def short(self) -> str:
        if not self.flags:
            return f"the default ({'a writer process' if self.writer_process else 'one process'})"
        return "one process" if not self.writer_process else " ".join(self.args)

    def other(self) -> ApiShape:
        """The shape measured beside this one: one process beside a writer process, and a
        writer process with one HTTP worker beside one process."""
        return ApiShape(writer_process=not self.writer_process)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def corridor_command() -> list[str]:
    """`corridor serve` from this virtualenv; `python -m bench.serve` (the same
    uvicorn call) only while the CLI cannot start, so the run still measures the API."""
    script = Path(sys.executable).with_name("corridor")
    probe = subprocess.run([str(script), "--help"], capture_output=True, timeout=60,
                           check=False)
    if probe.returncode == 0:
        return [str(script), "serve"]
    print("bench: WARNING `corridor --help` fails; serving with python -m bench.serve",
          file=sys.stderr)
    return [sys.executable, "-m", "bench.serve"]


@dataclass
class ApiProcess(Helper):
    """A running API process: a helper process that also has a port and a command line."""

    port: int = 0
    command: list[str] = field(default_factory=list)
    pss: PeakPss | None = None
    """Samples the API's summed PSS while it serves (from when it is ready)."""

    def peak_rss_mb(self) -> float | None:
        """Peak RSS of the whole API: its process and every process under it (HTTP workers
        and the writer process of `serve --writer-process`), summed."""
        each = self.rss_by_process()
        return sum(mb for _, mb in each) if each else None

    def rss_by_process(self) -> list[tuple[str, float]]:
        """(role, peak RSS in MB) of each process of the API, largest first."""
        found = [(role_of(pid), peak_rss_mb(pid)) for pid in process_tree(self.pid)]
        return sorted(((role, mb) for role, mb in found if mb is not None),
                      key=lambda item: -item[1])

    def peak_pss_mb(self) -> float | None:
        """The largest summed PSS sampled since the API was ready, and now."""
        sampler = self.pss or PeakPss(self.pid)
        sampler.sample()
        return sampler.peak

    def stop(self, timeout: float = 30.0) -> None:
        if self.pss is not None:
            self.pss.stop()
        super().stop(timeout)


async def start_api(env: dict[str, str], shape: ApiShape,
                    timeout: float = 60.0) -> ApiProcess:
    """Start the API in `shape` with `env` (CORRIDOR_* settings) and wait until
    /health/ready says so."""
    port = free_port()
    command = [*corridor_command(), "--host", HOST, "--port", str(port), *shape.args]
    log_fd, log_name = tempfile.mkstemp(prefix="corridor-bench-api-", suffix=".log")
    full_env = {**os.environ, **env}
    with os.fdopen(log_fd, "wb") as log_file:
        process = subprocess.Popen(command, env=full_env, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    api = ApiProcess(label="the API", process=process, log_path=Path(log_name), port=port,
                     command=command)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited ({process.returncode}):\n{api.log_tail()}")
        if await _ready(port):
            api.pss = PeakPss(process.pid).start()
            return api
        await asyncio.sleep(0.2)
    api.stop()
    raise RuntimeError(f"the API was not ready within {timeout:.0f}s:\n{api.log_tail()}")


async def _ready(port: int) -> bool:
    connection = Connection(HOST, port)
    try:
        status, _ = await connection.send(get_request(HOST, port, "/health/ready"))
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            await connection.close()
    return status == 200
