"""Every CORRIDOR_* setting is documented: a meaning of its own in services/settings.py, and
the README's configuration table is exactly what `corridor settings` prints."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from services.cli.main import app
from services.settings import Settings, settings_table

README = Path(__file__).resolve().parents[3] / "README.md"


def test_every_setting_says_what_it_means() -> None:
    undocumented = [name for name, field in Settings.model_fields.items()
                    if not (field.description or "").strip()]
    assert undocumented == []


def test_the_readme_table_is_the_one_corridor_settings_prints() -> None:
    found = re.search(r"<!-- settings:start -->\n(.*?)<!-- settings:end -->",
                      README.read_text(), re.S)
    assert found, "README.md lost its settings table markers"
    assert found.group(1) == settings_table(), \
        "README.md's settings table is out of date: paste the output of `corridor settings`"


def test_corridor_settings_prints_every_variable() -> None:
    printed = CliRunner().invoke(app, ["settings"]).stdout
    for name in Settings.model_fields:
        assert f"`CORRIDOR_{name.upper()}`" in printed
