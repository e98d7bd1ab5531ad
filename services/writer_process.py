"""The writer process of `corridor serve --workers N`: the one process that executes
commands (aggregate cache, group commit), runs reactions, in-process projections, the
Kafka relay when configured and anchoring, and answers the HTTP workers on a Unix socket.

`serving_with_writer` starts it, waits until it answers, and stops it after the HTTP
workers have stopped (so every command they forwarded gets its answer first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from services.settings import Settings

log = logging.getLogger("corridor.writer")
READY_TIMEOUT_SECONDS = 60.0


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


def main() -> None:
    """`python -m services.writer_process SOCKET` (started by `corridor serve --workers`)."""
    import uvloop

    from services.logs import configure

    settings = Settings()
    configure(json=settings.log_json)
    uvloop.run(run_writer(settings, sys.argv[1]))


class WriterProcess:
    """The started writer process, watched: if it dies while serving, the server stops."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.process = subprocess.Popen([sys.executable, "-m", "services.writer_process",
                                         socket_path], stdin=subprocess.DEVNULL)
        self.stopping = False

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        from services.ipc import RemoteCommands

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the writer process exited ({self.process.returncode}) "
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

    def watch(self) -> None:
        """Stop this server (SIGTERM to itself) if the writer process dies while serving."""
        def check() -> None:
            code = self.process.wait()
            if not self.stopping:
                log.error("the writer process exited (%s); stopping the server", code)
                os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=check, name="writer-watch", daemon=True).start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("the writer process did not stop in %.0fs; killing it", timeout)
                self.process.kill()
                self.process.wait(10)


@contextlib.contextmanager
def serving_with_writer() -> Iterator[WriterProcess]:
    """A running writer process on a private socket, exported to the HTTP workers as
    CORRIDOR_WRITER_SOCKET; stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="corridor-writer-") as directory:
        os.chmod(directory, 0o700)
        writer = WriterProcess(str(Path(directory) / "writer.sock"))
        try:
            writer.wait_ready()
            os.environ["CORRIDOR_WRITER_SOCKET"] = writer.socket_path
            writer.watch()
            yield writer
        finally:
            os.environ.pop("CORRIDOR_WRITER_SOCKET", None)
            writer.stop()


if __name__ == "__main__":
    main()
