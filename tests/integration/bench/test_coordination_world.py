"""The network the suggestions benchmark measures on is written through the real domain and
store: every open case, volunteer and resource asked for is there, as genuine events."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from bench.coordination_world import World
from services.clock import now
from services.settings import Settings
from services.storage.application import CorridorApplication


def test_the_world_holds_the_cases_volunteers_and_resources_asked_for(tmp_path: Path) -> None:
    app = CorridorApplication(Settings(store="sqlite", data_dir=tmp_path), os.urandom(32))
    try:
        population = World(app, now(), seed=3).populate(cases=40, volunteers=25, resources=60)
        stored = Counter(n.topic.rsplit(".", 1)[1] for n in app.recorder.select_notifications(
            start=1, limit=100_000))
    finally:
        app.close()

    assert (len(population.open_cases), len(population.volunteers),
            len(population.resources)) == (40, 25, 60)
    assert stored["CaseOpened"] == 40 and stored["ResourceReported"] == 60
    assert stored["VolunteerRegistered"] == 25 + 2  # and a supervisor and a fact-checker
    assert stored["TransportOffered"] > 0 and stored["WindowSet"] > 0
    assert stored["ShiftStarted"] > 0 and stored["CaseTaken"] > 0
    assert population.events == sum(stored.values())
