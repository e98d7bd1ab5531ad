"""A Kafka broker of the test's own, built from deploy/services.py's parts, that the test can
stop and start again on the same port with the same data (a real broker restart)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]


def deploy_services() -> ModuleType:
    """deploy/services.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("corridor_deploy_services",
                                                  REPO / "deploy" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OwnBroker:
    """A single-node KRaft broker in `root`; stopped only by the process id it started."""

    def __init__(self, root: Path) -> None:
        self.services = deploy_services()
        self.root = root
        self.port = self.services.free_port()
        self.controller_port = self.services.free_port({self.port})
        self.process: subprocess.Popen[bytes] | None = None
        self._start_time: str | None = None
        self._libs: Path = self.services.kafka_libs()
        (root / "logs").mkdir(parents=True, exist_ok=True)
        self._config = self.services.write_kafka_config(root, self.port, self.controller_port)
        self._format()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _format(self) -> None:
        command = [*self.services.java_cmd(self._libs, self.root, heap="256m"),
                   "kafka.tools.StorageTool", "format", "-t", self.services.kafka_cluster_id(),
                   "-c", str(self._config)]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120, check=False)
        assert done.returncode == 0, f"formatting the broker's storage failed: {done.stderr}"

    def start(self, timeout: float = 60) -> None:
        """Start (or start again) and wait until it answers Kafka requests."""
        with (self.root / "kafka.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*self.services.java_cmd(self._libs, self.root, heap="256m"), "kafka.Kafka",
                 str(self._config)], cwd=self.root, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self._start_time = self.services.proc_start_time(self.process.pid)
        deadline = time.monotonic() + timeout
        while not self.services.kafka_api_versions("127.0.0.1", self.port):
            assert self.process.poll() is None, f"the broker exited:\n{self.log_tail()}"
            assert time.monotonic() < deadline, f"the broker did not start:\n{self.log_tail()}"
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (a clean broker shutdown), SIGKILL if it takes longer than 30 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        if not self.services.wait_gone(process.pid, self._start_time, 30):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def log_tail(self) -> str:
        return str(self.services.tail(self.root / "kafka.log", 40))
