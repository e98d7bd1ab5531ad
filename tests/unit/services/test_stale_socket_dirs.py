"""A server killed with `kill -9` leaves its writer-socket directory in the temp folder; the
next start removes those whose owner is gone, and only ours (issue 25)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from services.runtime.writer_process import OWNER_FILE, SOCKET_DIR_PREFIX, remove_stale_socket_dirs


def a_dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def socket_dir(temp: Path, name: str, owner: int | None = None) -> Path:
    directory = temp / f"{SOCKET_DIR_PREFIX}{name}"
    directory.mkdir()
    if owner is not None:
        (directory / OWNER_FILE).write_text(str(owner))
    return directory


def test_directories_of_dead_servers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = socket_dir(tmp_path, "dead", owner=a_dead_pid())
    alive = socket_dir(tmp_path, "alive", owner=os.getpid())
    not_ours = tmp_path / "someone-else-dead"
    not_ours.mkdir()
    (not_ours / OWNER_FILE).write_text(str(a_dead_pid()))

    removed = remove_stale_socket_dirs(str(tmp_path))

    assert removed == [dead]
    assert not dead.exists() and alive.exists() and not_ours.exists()


def test_an_older_directory_without_an_owner_goes_only_if_its_socket_refuses(
        tmp_path: Path) -> None:
    refusing = socket_dir(tmp_path, "old")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as left:
        left.bind(str(refusing / "writer.sock"))  # bound, never listening: like a dead one's
    listening = socket_dir(tmp_path, "serving")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(listening / "writer.sock"))
    server.listen()
    starting = socket_dir(tmp_path, "starting")  # no socket yet

    try:
        removed = remove_stale_socket_dirs(str(tmp_path))
    finally:
        server.close()

    assert removed == [refusing]
    assert listening.exists() and starting.exists()
