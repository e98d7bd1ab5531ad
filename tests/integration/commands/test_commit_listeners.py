"""The writer tells the listeners it was built with of every commit (the composition root
passes the projection runner's and the policies' wake-ups), each even if one before it fails."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from command_runtime import command, sqlite_settings

from services.bootstrap import build_runtime
from services.runtime.outcomes import Accepted
from services.runtime.writer import CommandWriter


def test_every_commit_listener_hears_of_each_commit_even_after_one_fails(
        tmp_path: Path) -> None:
    runtime = build_runtime(sqlite_settings(tmp_path), start_writer=False)
    heard: list[str] = []

    def failing() -> None:
        raise RuntimeError("a listener's own fault")

    writer = CommandWriter(runtime.app, commit_listeners=[failing, lambda: heard.append("ok")])
    try:
        for name in ("Taras", "Olena"):
            [outcome] = writer.execute_now([command(runtime, "volunteers.register",
                                                    volunteer_id=uuid4(), display_name=name)])
            assert isinstance(outcome, Accepted)
    finally:
        runtime.app.close()

    assert heard == ["ok", "ok"]

