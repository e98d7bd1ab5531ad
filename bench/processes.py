"""Helper processes of a measurement (relay, projection worker): started, watched, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.procstat import peak_rss_mb


@dataclass
class Helper:
    """A started helper process and where its output goes."""

    label: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.pid)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.label} exited ({self.process.returncode}):\n"
                               f"{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (then SIGKILL); the log is removed unless the process had died by itself."""
        if self.process.poll() is not None:
            print(f"bench: {self.label} had exited; its log: {self.log_path}",
                  file=sys.stderr)
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        if not os.environ.get("CORRIDOR_BENCH_KEEP_LOGS"):
            self.log_path.unlink(missing_ok=True)


def start_helper(label: str, command: list[str], env: dict[str, str]) -> Helper:
    log_fd, log_name = tempfile.mkstemp(prefix=f"corridor-bench-{label}-", suffix=".log")
    with os.fdopen(log_fd, "wb") as log_file:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Helper(label=label, process=process, log_path=Path(log_name))
