"""The processes behind `corridor serve --workers N`: the writer process (the one process
that executes commands with its aggregate cache and group commit, runs the Kafka relay when
configured and anchoring, and answers the HTTP workers on a Unix socket) and a background
process (services.background_process: projections, woken by the store's NOTIFY, and the
policies). `serving_with_writer` starts them, waits until the writer answers, and stops
them after the HTTP workers have stopped (so every command they forwarded gets its answer
first).

Every child is forked from the supervisor after it has imported what the children run
(`preload`): the imported code (about 75 MB per interpreter) is then held once in memory
and shared by all of them, copy-on-write, instead of once per process. The collector is
frozen before forking so that collections in the children do not write to, and so copy,
the shared objects' pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from services.settings import Settings

log = logging.getLogger("corridor.writer")
READY_TIMEOUT_SECONDS = 60.0
AFTER_WRITER = {"CORRIDOR_CREATE_TABLES": "false"}
"""For processes started once the writer has created the tables."""
PRELOAD = ("uvloop", "uvicorn", "services.api.app", "services.ipc", "services.http_worker",
           "services.background_process", "services.reactions", "projections.cli")
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
    from services.api.app import build, started, startup_hooks, tune_collector
    from services.ipc import WriterServer

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    runtime = await build(settings.model_copy(update={"writer_socket": None}))
    async with started(runtime, startup_hooks()):
        server = WriterServer(runtime)
        await server.start(socket_path)
        if settings.tune_gc:
            tune_collector()
        log.info("writer process ready on %s", socket_path)
        await stopping.wait()
        await server.close()


def writer_main(socket_path: str) -> None:
    """The writer process: serve commands on `socket_path`."""
    import uvloop

    uvloop.run(run_writer(Settings(), socket_path))


def main() -> None:
    """`python -m services.writer_process SOCKET`: a writer process started by hand."""
    from services.logs import configure

    configure(json=Settings().log_json)
    writer_main(sys.argv[1])


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

    @property
    def pid(self) -> int | None:
        return self.process.pid

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
        from services.ipc import RemoteCommands

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


def run_http_workers(host: str, port: int, workers: int) -> None:
    """Run `workers` HTTP worker processes (services.http_worker) until SIGTERM or SIGINT,
    or until one of them dies; then stop them all (each finishes its open requests)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    from services.http_worker import serve

    children = [Child(f"HTTP worker {n}", partial(serve, host, port), AFTER_WRITER)
                for n in range(1, workers + 1)]
    try:
        for child in children:
            child.watch()
        stop.wait()
    finally:
        for child in children:  # all at once, then wait for each
            child.terminate()
        for child in children:
            child.stop()


@contextlib.contextmanager
def serving_with_writer(settings: Settings) -> Iterator[WriterProcess]:
    """A running writer process on a private socket, exported to the HTTP workers as
    CORRIDOR_WRITER_SOCKET, and a background process (services.background_process) that
    follows the store for the projections (unless Kafka workers project) and the policies
    (their follow-ups go to the writer); all stopped on exit, after the HTTP workers."""
    children: list[Child] = []
    preload()
    with tempfile.TemporaryDirectory(prefix="corridor-writer-") as directory:
        os.chmod(directory, 0o700)
        project, react = settings.projections_in_process, settings.reactions_in_process
        socket_path = str(Path(directory) / "writer.sock")
        writer = WriterProcess(socket_path, {"CORRIDOR_PROJECTIONS_IN_PROCESS": "false",
                                             "CORRIDOR_REACTIONS_IN_PROCESS": "false"})
        children.append(writer)
        try:
            writer.wait_ready()
            if project or react:
                from services.background_process import background_main

                children.append(Child("background process", partial(
                    background_main, socket_path if react else None, project=project),
                    AFTER_WRITER))
            os.environ["CORRIDOR_WRITER_SOCKET"] = writer.socket_path
            for child in children:
                child.watch()
            yield writer
        finally:
            os.environ.pop("CORRIDOR_WRITER_SOCKET", None)
            for child in children:
                child.stop()


if __name__ == "__main__":
    main()
