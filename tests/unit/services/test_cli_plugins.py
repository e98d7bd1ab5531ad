"""The `corridor` command imports only the plugin a command needs (the supervisor of
`corridor serve --writer-process` forks its children after importing only what they run);
--help still lists all."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PLUGIN_MODULES = ("services.cli.kafka", "services.cli.audit", "bench.cli",
                  "services.cli.projections", "services.cli.simulate")


def loaded_after(*argv: str) -> set[str]:
    script = ("import sys; from services.cli import main as cli; "
              f"cli._load_plugins(['corridor', *{list(argv)!r}]); "
              f"print(' '.join(m for m in {PLUGIN_MODULES!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60)
    return set(out.stdout.split())


def test_serving_imports_no_plugin() -> None:
    assert loaded_after("serve", "--workers", "2") == set()


def test_a_plugin_command_imports_only_its_own_plugin() -> None:
    assert loaded_after("rebuild", "--processes", "2") == {"services.cli.projections"}
    assert loaded_after("kafka", "topics") == {"services.cli.kafka"}
    assert loaded_after("simulate", "--hours", "2") == {"services.cli.simulate"}


def test_help_and_unknown_commands_import_every_plugin_to_list_them() -> None:
    assert loaded_after("--help") == set(PLUGIN_MODULES)
    assert loaded_after("no-such-command") == set(PLUGIN_MODULES)


def test_the_installed_command_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "services.cli.main", "--help"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    for command in ("serve", "token", "rebuild", "project", "relay", "audit", "bench", "kafka",
                    "simulate"):
        assert command in out


def test_each_plugin_adds_exactly_the_commands_the_cli_expects_of_it() -> None:
    import importlib

    import typer

    from services.cli.main import CORE, PLUGINS

    for module, expected in PLUGINS.items():
        app = typer.Typer()
        importlib.import_module(module).register(app)
        names = {c.name or c.callback.__name__.replace("_", "-")  # type: ignore[union-attr]
                 for c in app.registered_commands}
        names |= {g.name for g in app.registered_groups}
        assert names == set(expected), module
        assert not names & CORE, module


@pytest.mark.parametrize(("setting", "flag", "workers", "cores", "expected"), [
    (None, None, 1, 2, True),     # unset: a writer process where there are cores for it
    (None, None, 1, 1, False),
    (None, False, 1, 8, False),   # --one-process
    (False, True, 1, 1, True),    # --writer-process over the setting
    (False, None, 1, 8, False),   # CORRIDOR_WRITER_PROCESS=false
    (None, False, 2, 8, True),    # more than one worker needs the writer process
])
def test_serve_runs_a_writer_process_as_asked_else_where_there_are_two_cores(
        monkeypatch: pytest.MonkeyPatch, setting: bool | None, flag: bool | None,
        workers: int, cores: int, expected: bool) -> None:
    from services.cli.main import splits
    from services.settings import Settings

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    settings = Settings(store="sqlite", writer_process=setting)

    assert splits(settings, flag, workers) is expected
