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
import contextlib
import gc
import importlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
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
SPAWN = multiprocessing.get_context("spawn")
"""A restarted writer is spawned afresh: by then the supervisor runs threads, and a child
forked from it could inherit a lock one of them held."""
SOCKET_DIR_PREFIX = "corridor-writer-"
OWNER_FILE = "owner.pid"
"""In each writer-socket directory: the supervisor's pid, so a later start can tell a
directory left behind by a `kill -9` from one in use (`remove_stale_socket_dirs`)."""
WRITER_RESTARTS = 5
WRITER_RESTART_WINDOW_SECONDS = 60.0
"""A writer that dies more often than this within the window is not restarted again: the
server stops, non-zero, for its own supervisor (systemd, compose) to restart."""
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
    of it), unless the watcher is told what to do instead (the writer is restarted)."""

    def __init__(self, label: str, target: Callable[[], None], env: dict[str, str],
                 context: multiprocessing.context.BaseContext = FORK) -> None:
        self.label = label
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_child, args=(label, env, target), name=label, daemon=False)
        self.process.start()
        self.stopping = False
        self.died = False
        """It exited while serving, and the server stops for it (then exiting non-zero)."""
        self._signalled = False

    def exited(self) -> bool:
        return self.process.exitcode is not None

    def watch(self, on_exit: Callable[[Child], None] | None = None) -> None:
        def check() -> None:
            self.process.join()
            if self.stopping:
                return
            if on_exit is not None:
                on_exit(self)
                return
            log.error("the %s exited (%s); stopping the server", self.label,
                      self.process.exitcode)
            self.died = True
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

    def __init__(self, socket_path: str, env: dict[str, str],
                 context: multiprocessing.context.BaseContext = FORK) -> None:
        with contextlib.suppress(FileNotFoundError):  # a dead writer's socket
            os.unlink(socket_path)
        super().__init__("writer process", partial(writer_main, socket_path), env, context)
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


class WriterKeeper:
    """Keeps one writer process running: one that dies while serving is spawned again on
    the same socket (the HTTP workers reconnect on their next command and answer 503 with
    Retry-After meanwhile; reads go on). Past WRITER_RESTARTS within the window it stops
    the server instead, which exits non-zero."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.current = WriterProcess(socket_path, {})
        self.restarts: list[float] = []
        self.gave_up = False
        self._lock = threading.Lock()
        self._stopping = False

    def watch(self) -> None:
        self.current.watch(self._restart)

    def _restart(self, dead: Child) -> None:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < WRITER_RESTART_WINDOW_SECONDS]
        with self._lock:
            if self._stopping:
                return
            if len(self.restarts) >= WRITER_RESTARTS:
                log.error("the writer process exited (%s), its %d restart within %.0f s; "
                          "stopping the server", dead.process.exitcode, len(self.restarts) + 1,
                          WRITER_RESTART_WINDOW_SECONDS)
                self.gave_up = True
                os.kill(os.getpid(), signal.SIGTERM)
                return
            self.restarts.append(now)
            log.error("the writer process exited (%s); starting it again (commands get 503 "
                      "until it answers)", dead.process.exitcode)
            self.current = WriterProcess(self.socket_path, AFTER_WRITER, SPAWN)
        try:
            self.current.wait_ready()
        except RuntimeError:
            log.exception("the restarted writer process did not come up")
        self.current.watch(self._restart)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            current = self.current
        current.stop()


def remove_stale_socket_dirs(temp_dir: str | None = None) -> list[Path]:
    """Remove the writer-socket directories that servers killed without a chance to clean
    up (`kill -9`) left in the temp folder: only ours (our prefix, our user) and only those
    whose owner is gone: the pid in its owner file is not running or, for a directory
    without one, its socket refuses connections. Returns what was removed."""
    removed = []
    for directory in Path(temp_dir or tempfile.gettempdir()).glob(f"{SOCKET_DIR_PREFIX}*"):
        try:
            if directory.is_symlink() or not directory.is_dir() \
                    or directory.stat().st_uid != os.getuid():
                continue
            if _owner_alive(directory):
                continue
            shutil.rmtree(directory)
        except OSError as error:  # raced with another start, or not ours to remove
            log.debug("left %s: %s", directory, error)
            continue
        log.info("removed %s, left by a server that is gone", directory)
        removed.append(directory)
    return removed


def _owner_alive(directory: Path) -> bool:
    try:
        pid = int((directory / OWNER_FILE).read_text().strip())
    except FileNotFoundError:
        return _socket_listens(directory / "writer.sock")
    except ValueError:
        return True  # not written by us as we write it: leave it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process has that pid now: alive
        return True
    return True


def _socket_listens(path: Path) -> bool:
    """A directory from before owner files: stale only if its socket refuses (a starting
    server has no socket yet, so one without a socket is left too)."""
    if not path.is_socket():
        return True
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:
            return False
        except OSError:
            return True
    return True


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
    remove_stale_socket_dirs()
    with tempfile.TemporaryDirectory(prefix=SOCKET_DIR_PREFIX) as directory:
        os.chmod(directory, 0o700)
        (Path(directory) / OWNER_FILE).write_text(str(os.getpid()))
        socket_path = str(Path(directory) / "writer.sock")
        writer = WriterKeeper(socket_path)
        http: list[Child] = []
        try:
            writer.current.wait_ready()
            os.environ["CORRIDOR_WRITER_SOCKET"] = socket_path
            http = [Child(f"HTTP worker {n}", partial(serve, host, port), AFTER_WRITER)
                    for n in range(1, workers + 1)]
            writer.watch()  # after every fork: no child inherits a thread
            for child in http:
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
        if writer.gave_up or any(child.died for child in http):  # for systemd or compose
            raise SystemExit("corridor serve stopped: a child process died (see above)")


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
