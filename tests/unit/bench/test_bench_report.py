"""Rendering the benchmark report as Markdown, JSON and a terminal table."""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bench.report import REPO_ROOT, Figure, Report, markdown, rich_table, write
from bench.stats import Target


def a_report() -> Report:
    report = Report(started_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
                    environment={"nproc": 2, "cpu_model": "Test CPU", "ram_gb": 24,
                                 "os": "Linux", "versions": {"python": "3.11.7"},
                                 "postgres": {"summary": "15 on 127.0.0.1, fsync=off"}},
                    parameters={"duration_s": 3})
    report.add(Figure("commands", "HTTP commands/s, 32 clients", 750.0, "commands/s",
                      Target(1500, "at_least"), ["plain eventsourcing: 400/s"],
                      "API CPU-bound on one core"))
    report.add(Figure("replay", "as-of query p95", 8.0, "ms", Target(20, "at_most")))
    return report


def test_markdown_states_each_figure_beside_its_target_ratio_and_baselines() -> None:
    text = markdown(a_report())

    assert "| commands | HTTP commands/s, 32 clients | 750 commands/s | >= 1,500 commands/s " \
           "| 0.50x MISSED | plain eventsourcing: 400/s |" in text
    assert "| replay | as-of query p95 | 8.00 ms | <= 20.0 ms | 2.50x met |" in text
    assert "Test CPU, 2 cores, 24 GB RAM" in text


def test_markdown_explains_every_missed_target_and_only_those() -> None:
    text = markdown(a_report())
    missed = text.split("## Missed targets", 1)[1]

    assert "HTTP commands/s, 32 clients" in missed
    assert "API CPU-bound on one core" in missed
    assert "as-of query" not in missed


def test_markdown_escapes_pipes_inside_cells() -> None:
    report = a_report()
    report.add(Figure("baseline", "a | b", 1.0, "rows/s"))

    assert "| a \\| b |" in markdown(report)


def test_json_names_the_missed_targets_with_their_ratio() -> None:
    data = a_report().as_json()

    assert data["missed_targets"] == ["HTTP commands/s, 32 clients"]
    assert data["figures"][0]["ratio_to_target"] == 0.5
    assert data["figures"][1]["met"] is True


def test_terminal_table_has_a_row_per_figure() -> None:
    console = Console(width=200, record=True)
    console.print(rich_table(a_report()))
    text = console.export_text()

    assert "0.50x MISSED" in text
    assert "2.50x met" in text


def test_written_report_names_no_directory_of_the_machine(tmp_path: Path) -> None:
    report = a_report()
    corridor = Path(sys.executable).with_name("corridor")
    report.parameters["api_command"] = f"{corridor} serve --writer-process"
    report.notes.append(f"script {REPO_ROOT / 'deploy' / 'services.py'}, "
                        f"state in {Path(tempfile.gettempdir()) / 'corridor-pg-1'}")

    json_path, md_path = write(report, tmp_path)

    for text in (json_path.read_text(), md_path.read_text()):
        assert "corridor serve --writer-process" in text
        assert "script deploy/services.py, state in $TMPDIR/corridor-pg-1" in text
        assert str(REPO_ROOT) not in text and str(corridor.parent) not in text
