"""Fixtures of the fault suite: each case's figures, collected with the case's outcome into
tests/faults/results/last-run.json (git-ignored); `python -m tests.faults.report` renders
docs/reliability.md from it."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

RESULTS_DIR = os.path.join(os.path.dirname(__file__), "results")
RESULTS = os.path.join(RESULTS_DIR, "last-run.json")
_RUN: dict[str, Any] = {"cases": {}, "started_monotonic": time.monotonic()}
"""This run's fault cases; the start is reset by pytest_sessionstart when this conftest is
loaded before the session starts (pytest tests/faults), else it is when it was imported."""


class Figures(dict[str, Any]):
    """A case's measured figures, in the order they were taken; `title` names the case."""

    title: str = ""


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    found = Figures()
    found.title = request.node.name
    yield found
    _RUN["cases"][request.node.nodeid] = {
        "title": found.title, "test": request.node.nodeid.split("/")[-1],
        "figures": dict(found), "outcome": getattr(request.node, "fault_outcome", "not run"),
        "failure": getattr(request.node, "fault_failure", None), "at": _now()}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    if hasattr(report, "wasxfail"):
        item.fault_outcome = ("expected to fail (xfail): " + report.wasxfail if report.skipped
                              else "XPASS: the xfail mark must go")  # type: ignore[attr-defined]
    else:
        item.fault_outcome = report.outcome  # type: ignore[attr-defined]
    if report.failed or hasattr(report, "wasxfail"):
        text = str(call.excinfo.value) if call.excinfo else ""
        item.fault_failure = text.splitlines()[0][:400] if text else None  # type: ignore


def pytest_sessionstart(session: pytest.Session) -> None:
    _RUN["started_monotonic"] = time.monotonic()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _RUN["cases"]:
        return
    previous: dict[str, Any] = {}
    if os.path.exists(RESULTS):  # cases not run this time keep their last figures
        try:
            with open(RESULTS) as old:
                previous = {c["id"]: c for c in json.load(old).get("cases", [])}
        except (ValueError, KeyError):
            previous = {}
    previous.update({nodeid: {**case, "id": nodeid} for nodeid, case in _RUN["cases"].items()})
    os.makedirs(RESULTS_DIR, exist_ok=True)
    run = {"started": _now(), "machine": f"{os.cpu_count()} cores, {platform.system()}",
           "seconds": round(time.monotonic() - _RUN["started_monotonic"], 1),
           "cases_run": len(_RUN["cases"]),
           "cases": sorted(previous.values(), key=lambda c: c["id"])}
    with open(RESULTS, "w") as out:
        json.dump(run, out, indent=2, default=str)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
