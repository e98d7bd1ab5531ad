"""A simulated day played against servers that answer from memory: what the network does,
in what mix, and that one seed always plays the same day."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fake_server import AcceptingServer

from services.simulate.day import Day, SetupRefused, play
from services.simulate.engine import Answer, Read, Send
from services.simulate.stories.cast import Scenario
from services.simulate.summary import summarize
from services.simulate.world import World

FAST = 1e9
"""Faster than any clock: the day is played as fast as the fake answers."""


DAWN = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
"""Where the days of these tests begin. A day begins at the hour it is played (who is on
shift, awake or asleep follows from it), so a test left to the wall clock played another day
at each minute: at 18:02 one seed's day happened to need no supervisor's assignment."""


def played(server: Any, hours: float = 24.0, seed: int = 7, **scenario: Any) -> World:
    day = Day(Scenario(seed=seed, **scenario), hours=hours, speed=FAST)
    return asyncio.run(play(day, server, now=lambda: DAWN))


def sent(server: AcceptingServer, path: str | None = None) -> list[dict[str, Any]]:
    return [s.command.body for s in server.sent
            if isinstance(s, Send) and (path is None or s.command.path == path)]


def trace(server: AcceptingServer) -> list[tuple[str, str, str]]:
    return [(s.command.path, s.command.actor, str(sorted(s.command.body.items())))
            if isinstance(s, Send) else (s.path, s.actor.id, str(sorted(s.params.items())))
            for s in server.sent]


def test_the_same_seed_plays_the_same_day() -> None:
    first, second = AcceptingServer(), AcceptingServer()

    played(first, hours=6)
    played(second, hours=6)

    assert trace(first) == trace(second)
    assert len(sent(first, "/cases/open")) > 20


def test_another_seed_plays_another_day() -> None:
    first, second = AcceptingServer(), AcceptingServer()

    played(first, hours=6, seed=1)
    played(second, hours=6, seed=2)

    assert trace(first) != trace(second)


def test_requests_come_mostly_at_night_in_kyiv() -> None:
    server = AcceptingServer()

    world = played(server, requests_per_day=600, shellings_per_day=0.0)

    hours = Counter((world.at(c.requested).astimezone(ZoneInfo("Europe/Kyiv")).hour)
                    for c in world.cases.values())
    night = sum(n for h, n in hours.items() if h >= 22 or h < 6) / 8
    day = sum(n for h, n in hours.items() if 10 <= h < 18) / 8
    assert night > 2 * day


def test_the_intake_mix_has_people_alone_with_children_pets_medical_and_mobility_needs(
        ) -> None:
    server = AcceptingServer()

    played(server)

    intakes = [b["intake"] for b in sent(server, "/cases/open")]
    alone = sum(i["adults"] == 1 and not i["children_ages"] for i in intakes)
    assert 0.25 < alone / len(intakes) < 0.5
    assert 0.15 < sum(bool(i["children_ages"]) for i in intakes) / len(intakes) < 0.55
    assert sum(i["pets"] > 0 for i in intakes) > 0.1 * len(intakes)
    assert sum(i["medical_needs"] for i in intakes) > 0.05 * len(intakes)
    assert sum(i["mobility_needs"] for i in intakes) > 0.05 * len(intakes)
    assert {i["region"] for i in intakes} >= {"Kharkiv", "Zaporizhzhia", "Kherson"}


def test_a_day_ends_cases_with_every_outcome_and_keeps_some_open() -> None:
    server = AcceptingServer()

    world = played(server)

    outcomes = Counter(b["outcome"] for b in sent(server, "/cases/close"))
    assert set(outcomes) == {"evacuated", "stays", "lost_contact", "referred_elsewhere"}
    assert outcomes["evacuated"] > outcomes["stays"]
    assert any(c.outcome is None for c in world.cases.values())


def test_the_day_uses_the_networks_capabilities() -> None:
    server = AcceptingServer()

    played(server)

    paths = {s.command.path for s in server.sent if isinstance(s, Send)}
    assert paths >= {
        "/cases/open", "/cases/take", "/cases/assign", "/cases/add-note", "/cases/give-advice",
        "/cases/arrange-transport", "/cases/record-departure", "/cases/record-checkpoint",
        "/cases/record-stuck", "/cases/record-return", "/cases/record-border-crossing",
        "/cases/record-arrival", "/cases/record-cannot-leave", "/cases/record-follow-up",
        "/cases/flag", "/cases/clear-flag", "/cases/form-support-group",
        "/cases/add-support-member", "/cases/dissolve-support-group", "/cases/close",
        "/cases/reopen", "/volunteers/register", "/volunteers/log-training",
        "/volunteers/start-shift", "/volunteers/end-shift", "/volunteers/ban",
        "/volunteers/suspend", "/volunteers/reinstate", "/volunteers/grant-role",
        "/volunteers/revoke-role", "/resources/report", "/resources/verify",
        "/resources/reject", "/resources/update-occupancy", "/resources/close",
        "/resources/reopen", "/clock/tick"}


def test_each_minute_of_the_day_tells_the_clock_once_in_order() -> None:
    server = AcceptingServer()

    played(server, hours=2)

    told = [datetime.fromisoformat(b["at"]) for b in sent(server, "/clock/tick")]
    assert len(told) == 121
    assert all((b - a).total_seconds() == 60 for a, b in itertools.pairwise(told))


class SystemClockServer(AcceptingServer):
    """Refuses a tick ahead of its clock, as a server without CORRIDOR_CLOCK=told does."""

    async def perform(self, step: Send | Read) -> Answer:
        if isinstance(step, Send) and step.command.path == "/clock/tick":
            self.sent.append(step)
            return Answer(409, {"rule": "ClockNotTold"})
        return await super().perform(step)


def test_a_server_on_the_system_clock_is_told_nothing_more_after_refusing() -> None:
    server = SystemClockServer()

    world = played(server, hours=2)

    assert len(sent(server, "/clock/tick")) == 1
    assert not world.told_clock
    summary = summarize(world, seed=7, minutes=120, speed_asked=1000, speed_reached=900)
    assert summary.clock == "system"


class FlagRaisingServer(AcceptingServer):
    """Refuses each case's first close as evacuated: a flag the board had not shown yet."""

    def __init__(self) -> None:
        super().__init__()
        self.flagged: dict[str, str] = {}

    async def perform(self, step: Send | Read) -> Answer:
        if isinstance(step, Send) and step.command.path == "/cases/close":
            body = step.command.body
            if body["outcome"] == "evacuated" and body["case_id"] not in self.flagged:
                self.sent.append(step)
                flag = f"00000000-0000-4000-8000-{len(self.flagged):012d}"
                self.flagged[body["case_id"]] = flag
                return Answer(409, {"rule": "FlagsStillRaised", "flags": [
                    {"flag_id": flag, "reason": "resource_unsafe"}]})
        return await super().perform(step)


def test_a_case_closes_as_evacuated_only_after_clearing_the_flags_the_refusal_names() -> None:
    server = FlagRaisingServer()

    played(server)

    cleared = {(b["case_id"], b["flag_id"]) for b in sent(server, "/cases/clear-flag")}
    closed = [b["case_id"] for b in sent(server, "/cases/close") if b["outcome"] == "evacuated"]
    assert server.flagged
    for case_id, flag in server.flagged.items():
        assert (case_id, flag) in cleared
        assert closed.count(case_id) == 2  # refused once, then closed after the clear


class PlayedBeforeServer(AcceptingServer):
    """Answers registrations as retries: this seed's network is there already."""

    async def perform(self, step: Send | Read) -> Answer:
        answer = await super().perform(step)
        return Answer(200, {**answer.body, "duplicate": True}) if isinstance(step, Send) \
            else answer


def test_a_server_that_holds_this_seeds_network_already_is_not_played_again() -> None:
    with pytest.raises(SetupRefused, match="another --seed"):
        played(PlayedBeforeServer(), hours=1)


def test_every_personal_value_sent_is_noted_for_the_privacy_checks() -> None:
    server = AcceptingServer()

    world = played(server, hours=6)

    intakes = [b["intake"] for b in sent(server, "/cases/open")]
    noted = world.personal
    assert {i["name"] for i in intakes} <= noted
    assert {i["exact_location"] for i in intakes} <= noted
    assert {i["contact_handle"] for i in intakes} <= noted
    contacts = [b["contact"] for b in sent(server, "/resources/report") if "contact" in b]
    assert contacts and {c["phone"] for c in contacts} <= noted
    assert {b["display_name"] for b in sent(server, "/volunteers/register")} <= noted


SEATS = ("/cases/hold-seats", "/cases/confirm-seats", "/cases/release-seats",
         "/resources/offer-seats")


def test_where_the_server_offers_seats_a_household_holds_them_before_setting_off() -> None:
    server = AcceptingServer(paths=SEATS)

    played(server)

    steps: dict[str, list[str]] = {}
    for body in (s.command for s in server.sent if isinstance(s, Send)):
        if "case_id" in body.body:
            steps.setdefault(body.body["case_id"], []).append(body.kind)
    departed = [k for k in steps.values() if "departure" in k]
    assert departed
    for kinds in departed:
        first = kinds.index("departure")
        assert "hold_seats" in kinds[:first] and "confirm_seats" in kinds[:first]
    transports = [b for b in sent(server, "/resources/report") if b["kind"] == "transport"]
    assert transports and all(b["transport"]["seats"] > 0 for b in transports)


def test_without_seats_on_the_server_nobody_holds_any() -> None:
    server = AcceptingServer()

    played(server, hours=12)

    assert sent(server, "/cases/hold-seats") == []
    assert all("transport" not in b for b in sent(server, "/resources/report"))
