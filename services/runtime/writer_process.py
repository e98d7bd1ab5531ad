"""The processes behind `corridor serve --writer-process [--workers N]`: the writer
process (the one process that executes commands with its aggregate cache and group commit,
batch after batch on its event loop's thread (`CommandWriter.run_on`), runs the Kafka relay
when configured and anchoring, and answers the HTTP workers on a Unix
socket), the HTTP worker process(es) (services.runtime.http_worker), and the supervising process,
which after forking them runs the background duties itself (services.runtime.background_process:
projections, woken by the store's NOTIFY, and the policies). On SIGTERM the HTTP workers
stop first (so every command they forwarded gets its answer), then the background duties,
then the writer.

Every child is forked from the supervisor after it has imported what the children run
(`preload`): the imported code (a large share of each interpreter's memory) is then held
once in memory and shared by all of them, copy-on-write, instead of once per process. The
collector is frozen before forking so that collections in the children do not write to,
and so copy, the shared objects' pages.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from services.settings import Settings

log = logging.getLogger("corridor.writer")
READY_TIMEOUT_SECONDS = 60.0
AFTER_WRITER = {"CORRIDOR_CREATE_TABLES": "false"}
"""For processes started once the writer has created the tables."""
PRELOAD = ("uvloop", "uvicorn", "services.api.app", "services.runtime.ipc",
           "services.runtime.http_worker", "services.runtime.background_process",
           "services.runtime.reactions", "services.runtime.store_follower")
"""What the children run, imported by the supervisor before it forks them."""
FORK = multiprocessing.get_context("fork")
TITLE = "corridor serve: {}"
"""The process title of a child (`ps`, /proc/PID/cmdline), naming its role."""


def preload() -> None:
    """Import every module the children run and freeze the collector, so that the forked
    children share these pages instead of each importing its own copy."""
    for name in PRELOAD:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()


async def run_writer(settings: Settings, socket_path: str) -> None:
    """Serve commands on `socket_path` until SIGTERM or SIGINT."""
    from services import bootstrap
    from services.api.app import tune_collector

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    runtime = await asyncio.to_thread(bootstrap.for_writer_process, settings, loop, socket_path)
    async with runtime.running():
        if settings.tune_gc:
            tune_collector()
        log.info("writer process ready on %s", socket_path)
        await stopping.wait()


def writer_main(socket_path: str) -> None:
    """The writer process: serve commands on `socket_path`."""
    import uvloop

    uvloop.run(run_writer(Settings(), socket_path))


def _child(label: str, env: dict[str, str], target: Callable[[], None]) -> None:
    """What a forked child runs: its own title, environment and signal handling, then
    `target`."""
    from setproctitle import setproctitle

    setproctitle(TITLE.format(label))
    os.environ.update(env)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)  # the supervisor's handlers are not ours
    target()


class Child:
    """A child process of the server, forked from it and watched: if it dies while
    serving, the server stops (a supervisor such as systemd or Kubernetes then restarts all
    of it)."""

    def __init__(self, label: str, target: Callable[[], None], env: dict[str, str]) -> None:
        self.label = label
        self.process = FORK.Process(target=_child, args=(label, env, target),
                                    name=label, daemon=False)
        self.process.start()
        self.stopping = False
        self._signalled = False

    def exited(self) -> bool:
        return self.process.exitcode is not None

    def watch(self) -> None:
        def check() -> None:
            self.process.join()
            if not self.stopping:
                log.error("the %s exited (%s); stopping the server", self.label,
                          self.process.exitcode)
                os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=check, name=f"{self.label}-watch", daemon=True).start()

    def terminate(self) -> None:
        """Ask it to stop (once: uvicorn takes a second SIGTERM as "exit now", dropping the
        requests it is still answering)."""
        self.stopping = True
        if self.process.exitcode is None and not self._signalled:
            self._signalled = True
            self.process.terminate()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask it to stop and wait for it (killed after `timeout`)."""
        self.terminate()
        self.process.join(timeout)
        if self.process.exitcode is None:
            log.error("the %s did not stop in %.0fs; killing it", self.label, timeout)
            self.process.kill()
            self.process.join(10)


class WriterProcess(Child):
    """The writer process; ready once it answers a ping on its socket."""

    def __init__(self, socket_path: str, env: dict[str, str]) -> None:
        super().__init__("writer process", partial(writer_main, socket_path), env)
        self.socket_path = socket_path

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        from services.runtime.ipc import RemoteCommands

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited():
                raise RuntimeError(f"the writer process exited ({self.process.exitcode}) "
                                   "before it was ready; its errors are above")
            if Path(self.socket_path).exists():
                remote = RemoteCommands(self.socket_path)
                try:
                    if asyncio.run(remote.ping()):
                        return
                finally:
                    remote.close()
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the writer process did not answer within {timeout:.0f}s")


def serve_with_writer_process(settings: Settings, host: str, port: int, workers: int) -> None:
    """Fork the writer process on a private socket (exported to the HTTP workers as
    CORRIDOR_WRITER_SOCKET) and, once it answers, `workers` HTTP worker processes; then run
    the background duties here until SIGTERM or SIGINT, or until a child dies; then stop
    the HTTP workers (each finishes its open requests), the background duties and the
    writer, in that order."""
    from services.runtime.http_worker import serve

    for signum in (signal.SIGTERM, signal.SIGINT):  # until the background loop handles them
        signal.signal(signum, _unwind)
    preload()
    with tempfile.TemporaryDirectory(prefix="corridor-writer-") as directory:
        os.chmod(directory, 0o700)
        socket_path = str(Path(directory) / "writer.sock")
        writer = WriterProcess(socket_path, {})
        http: list[Child] = []
        try:
            writer.wait_ready()
            os.environ["CORRIDOR_WRITER_SOCKET"] = socket_path
            http = [Child(f"HTTP worker {n}", partial(serve, host, port), AFTER_WRITER)
                    for n in range(1, workers + 1)]
            for child in (writer, *http):  # after every fork: no child inherits a thread
                child.watch()
            _run_background(settings, socket_path)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):  # stopping already: in order
                signal.signal(signum, signal.SIG_IGN)
            os.environ.pop("CORRIDOR_WRITER_SOCKET", None)
            for child in http:  # all at once, then wait for each
                child.terminate()
            for child in http:
                child.stop()
            writer.stop()


def _unwind(signum: int, _frame: object) -> None:
    """A stop signal before the background loop runs: unwind, stopping the children."""
    raise SystemExit(0)


def _run_background(settings: Settings, socket_path: str) -> None:
    """The projections (unless Kafka workers project) and the policies (their follow-ups
    go to the writer), in this process, until SIGTERM or SIGINT."""
    import uvloop
    from setproctitle import setproctitle

    from services import bootstrap

    setproctitle(TITLE.format("supervisor, projections and policies"))

    async def until_stopped() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await bootstrap.for_background(settings, socket_path).run(stop)

    uvloop.run(until_stopped())
