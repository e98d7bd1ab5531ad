"""`corridor simulate` says what is missing instead of failing with a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def simulate(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli.main", "simulate", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd, check=False,
                          env={**os.environ, "CORRIDOR_STORE": "sqlite", **env})


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_without_a_server_it_says_how_to_start_one(tmp_path: Path) -> None:
    done = simulate("--url", f"http://127.0.0.1:{unused_port()}", "--quiet", cwd=tmp_path,
                    CORRIDOR_AUTH_SECRET="a-secret-long-enough-for-hs256-signing")

    assert done.returncode == 1
    assert "no corridor server answers" in done.stderr and "deploy/run.sh" in done.stderr


def test_on_the_embedded_default_it_needs_the_servers_secret_and_makes_none(
        tmp_path: Path) -> None:
    done = simulate("--quiet", cwd=tmp_path, CORRIDOR_DATA_DIR=str(tmp_path / "data"))

    assert done.returncode == 1
    assert "no auth secret" in done.stderr
    assert not (tmp_path / "data" / "auth.secret").exists()
