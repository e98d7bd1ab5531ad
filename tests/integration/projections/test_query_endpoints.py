"""The query endpoints over HTTP, on the real runtime: commands in, read models out.

Runs on the embedded default (SQLite) and on PostgreSQL. Commands go through the command
writer as the API sends them; reads go through services.api.queries.router().
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from fastapi import FastAPI
from projection_scenario import Scenario
from pydantic import SecretStr

from domain.case import Case
from domain.intake import Intake
from projections.service import ProjectionService
from services.api import problems
from services.api.queries import StreamView, board_events, router
from services.auth import CallerRole, Principal
from services.bootstrap import Runtime, for_serve
from services.clock import now
from services.commands import CATALOG
from services.runtime.outcomes import Accepted
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.sealing import new_master_key


@dataclass
class Network:
    """A running API plus people with tokens."""

    client: httpx.AsyncClient
    runtime: Runtime
    admin: str
    helper: str
    checker: str

    @property
    def service(self) -> ProjectionService:
        service = self.runtime.projections
        assert isinstance(service, ProjectionService)
        return service

    def token(self, actor: str, *roles: CallerRole) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.runtime.tokens.issue(actor, list(roles))}"}

    async def send(self, name: str, caller: str, caller_roles: set[CallerRole],
                   **body: Any) -> Accepted:
        payload = CATALOG[name].body.model_validate({"command_id": uuid4(), **body})
        principal = Principal(caller, frozenset(caller_roles))
        submission = self.runtime.submission(name, payload, principal)
        (outcome,) = await asyncio.to_thread(self.runtime.writer.execute_now, [submission])
        assert isinstance(outcome, Accepted), outcome
        return outcome

    async def get(self, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=headers)


def settings_for(backend: str, tmp_path: Path, dsn: str | None) -> Settings:
    return Settings(store=backend, pg_dsn=dsn, data_dir=tmp_path,  # type: ignore[arg-type]
                    master_key=SecretStr(new_master_key()),
                    auth_secret=SecretStr("test-secret-" + "x" * 32),
                    reactions_in_process=False, projections_in_process=True)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return settings_for("sqlite", tmp_path, None)


@pytest.fixture
def postgres_settings(tmp_path: Path, fresh_pg_database: str) -> Settings:
    return settings_for("postgres", tmp_path, fresh_pg_database)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Settings:
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    return settings


@pytest.fixture
async def network(backend: Settings) -> AsyncIterator[Network]:
    runtime = await asyncio.to_thread(for_serve, backend)
    api = FastAPI()
    problems.install(api)
    api.include_router(router())
    api.state.runtime = runtime
    transport = httpx.ASGITransport(app=api)
    async with runtime.running(), httpx.AsyncClient(transport=transport,
                                                    base_url="http://corridor") as client:
        people = Network(client, runtime, admin="admin", helper=str(uuid4()),
                         checker=str(uuid4()))
        await _staff(people)
        yield people


STAFF = {CallerRole.ADMIN}


async def _staff(net: Network) -> None:
    for person, roles in ((net.helper, ["volunteer"]), (net.checker, ["fact_checker"])):
        await net.send("volunteers.register", net.admin, STAFF, volunteer_id=person,
                       display_name="Someone", roles=roles, time_zone="Europe/Kyiv")
        trained = await net.send("volunteers.log_training", net.admin, STAFF,
                                 volunteer_id=person, minutes=300, topic="basics")
    assert await net.service.wait_for("case_board", trained.position or 0, 10)


async def open_case(net: Network, **answers: Any) -> tuple[UUID, Accepted]:
    case_id = uuid4()
    intake = {"safe_now": False, "region": "kharkiv", "destination": "poland",
              "contact_channel": "telegram", "children_ages": [3], "name": "Olena K.",
              **answers}
    outcome = await net.send("cases.open", "intake-bot", {CallerRole.INTAKE}, case_id=case_id,
                             person_id=uuid4(), intake=intake)
    return case_id, outcome


async def verified_shelter(net: Network) -> tuple[UUID, Accepted]:
    resource_id = uuid4()
    await net.send("resources.report", net.helper, {CallerRole.VOLUNTEER},
                   resource_id=resource_id, kind="shelter", region="lviv", place="school 3",
                   capacity=40)
    verified = await net.send("resources.verify", net.checker, {CallerRole.FACT_CHECKER},
                              resource_id=resource_id)
    return resource_id, verified


async def test_a_read_waits_for_the_position_its_command_returned(network: Network) -> None:
    volunteer = network.token(network.helper, CallerRole.VOLUNTEER)
    failures: list[int] = []

    def runner_is_failing() -> None:
        failures.append(1)
        if len(failures) <= 3:
            raise RuntimeError("read-model database briefly unreachable")
    network.service.store.before_commit = runner_is_failing
    case_id, outcome = await open_case(network)
    assert outcome.position is not None

    stale = await network.get("/board", volunteer)
    fresh = await network.get("/board", volunteer, min_position=outcome.position, wait_ms=10_000)

    assert str(case_id) not in stale.text, "the runner had not applied it yet"
    assert fresh.status_code == 200
    assert [c["case_id"] for c in fresh.json()["cases"]] == [str(case_id)]
    assert len(failures) > 3


async def test_a_read_that_cannot_catch_up_in_time_is_a_504_problem(network: Network) -> None:
    network.service.store.before_commit = _always_fail
    _, outcome = await open_case(network)

    response = await network.get("/board", network.token(network.helper, CallerRole.VOLUNTEER),
                                 min_position=outcome.position, wait_ms=200)

    network.service.store.before_commit = None
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["min_position"] == outcome.position


def _always_fail() -> None:
    raise RuntimeError("down")


async def test_volunteers_see_the_board_without_the_persons_id(network: Network) -> None:
    case_id, _ = await open_case(network, medical_needs=True)
    await network.send("cases.take", network.helper, {CallerRole.VOLUNTEER}, case_id=case_id)
    _, last = await open_case(network, safe_now=True, region="odesa")
    wait = {"min_position": last.position, "wait_ms": 10_000}

    as_volunteer = (await network.get("/board", network.token(network.helper,
                                                               CallerRole.VOLUNTEER),
                                      status="assigned", **wait)).json()
    as_supervisor = (await network.get("/board", network.token("sup", CallerRole.SUPERVISOR),
                                       region="kharkiv", **wait)).json()

    (seen,) = as_volunteer["cases"]
    assert (seen["case_id"], seen["assignee_id"]) == (str(case_id), network.helper)
    assert seen["person_id"] is None and "Olena" not in str(as_volunteer)
    assert seen["needs"] == ["medical_needs"] and seen["waiting_seconds"] >= 0
    assert as_supervisor["cases"][0]["person_id"] is not None
    assert as_supervisor["total"] == 1


async def test_board_counts_and_sorting(network: Network) -> None:
    await open_case(network, safe_now=True)  # low
    _, last = await open_case(network)  # critical (children, not safe)
    wait = {"min_position": last.position, "wait_ms": 10_000}
    headers = network.token("sup", CallerRole.SUPERVISOR)

    counts = (await network.get("/board/counts", headers, **wait)).json()
    page = (await network.get("/board", headers, sort="urgency", **wait)).json()

    assert counts["by_status"] == {"unassigned": 2}
    assert counts["by_urgency"] == {"critical": 1, "medium": 1}
    assert [c["urgency"] for c in page["cases"]] == ["critical", "medium"]


async def test_only_auditors_and_supervisors_read_the_audit_trail(network: Network) -> None:
    case_id, _ = await open_case(network)
    took = await network.send("cases.take", network.helper, {CallerRole.VOLUNTEER},
                              case_id=case_id)

    trail = await network.get("/audit", network.token("aud", CallerRole.AUDITOR),
                              stream_id=case_id, min_position=took.position, wait_ms=10_000)
    refused = await network.get("/audit", network.token(network.helper, CallerRole.VOLUNTEER),
                                stream_id=case_id)

    entries = trail.json()["entries"]
    assert [e["type"] for e in entries] == ["CaseOpened", "CaseTaken"]
    assert entries[1]["causation_id"] == str(took.command_id)
    assert entries[1]["actor"] == network.helper
    assert "Olena" not in trail.text
    assert refused.status_code == 403


async def test_the_audit_trail_is_searchable_by_actor_and_time(network: Network) -> None:
    case_id, _ = await open_case(network)
    took = await network.send("cases.take", network.helper, {CallerRole.VOLUNTEER},
                              case_id=case_id)
    headers = network.token("aud", CallerRole.AUDITOR)
    wait = {"min_position": took.position, "wait_ms": 10_000}

    by_actor = (await network.get("/audit", headers, actor=network.helper, **wait)).json()
    window = (await network.get("/audit", headers, since=(now() + timedelta(hours=1))
                                .isoformat(), **wait)).json()

    assert [e["type"] for e in by_actor["entries"]] == ["CaseTaken"]
    assert window["entries"] == []


async def test_the_directory_offers_verified_resources_until_they_expire(
        network: Network) -> None:
    shelter, _ = await verified_shelter(network)
    unverified = uuid4()
    last = await network.send("resources.report", network.helper, {CallerRole.VOLUNTEER},
                              resource_id=unverified, kind="route", region="lviv")
    anyone = network.token("intake-bot", CallerRole.INTAKE)
    wait = {"min_position": last.position, "wait_ms": 10_000}

    today = (await network.get("/resources/directory", anyone, **wait)).json()
    later = (await network.get("/resources/directory", anyone, now=(
        now() + timedelta(hours=7)).isoformat(), **wait)).json()

    assert [r["resource_id"] for r in today["resources"]] == [str(shelter)]
    assert today["resources"][0]["free_places"] == 40
    assert later["resources"] == [], "a shelter's verification holds six hours"


async def test_fact_checkers_see_verifications_running_out(network: Network) -> None:
    shelter, verified = await verified_shelter(network)
    checker = network.token(network.checker, CallerRole.FACT_CHECKER)
    wait = {"min_position": verified.position, "wait_ms": 10_000}

    soon = (await network.get("/resources/expiring", checker, within_hours=7, **wait)).json()
    not_yet = (await network.get("/resources/expiring", checker, within_hours=1, **wait)).json()
    refused = await network.get("/resources/expiring",
                                network.token(network.helper, CallerRole.VOLUNTEER))

    assert [v["resource_id"] for v in soon["verifications"]] == [str(shelter)]
    assert not_yet["verifications"] == []
    assert refused.status_code == 403


async def test_one_resource_shows_its_recall_verification_and_the_cases_relying_on_it(
        network: Network) -> None:
    shelter, verified = await verified_shelter(network)
    case_id, _ = await open_case(network)
    await network.send("cases.take", network.helper, {CallerRole.VOLUNTEER}, case_id=case_id)
    await network.send("cases.give_advice", network.helper, {CallerRole.VOLUNTEER},
                       case_id=case_id, text="go to school 3", resource_ids=[shelter])
    anyone = network.token("intake-bot", CallerRole.INTAKE)
    standing = (await network.get(f"/resources/{shelter}", anyone,
                                  min_position=verified.position, wait_ms=10_000)).json()
    await network.send("resources.mark_unsafe", network.helper, {CallerRole.VOLUNTEER},
                       resource_id=shelter, reason="shelled at night")
    flagged = await network.send("cases.flag", network.helper, {CallerRole.VOLUNTEER},
                                 case_id=case_id, flag_id=uuid4(), reason="resource_unsafe",
                                 resource_id=shelter)

    recalled = (await network.get(f"/resources/{shelter}", anyone,
                                  min_position=flagged.position, wait_ms=10_000)).json()

    assert (standing["status"], standing["usable"], standing["reason"]) == (
        "available", True, None)
    assert 0 < standing["expires_in_seconds"] <= 6 * 3600
    assert (recalled["kind"], recalled["region"], recalled["place"]) == (
        "shelter", "lviv", "school 3")
    assert (recalled["status"], recalled["reason"], recalled["usable"],
            recalled["unusable_because"]) == ("unsafe", "shelled at night", False, "unsafe")
    assert (recalled["verification"], recalled["verified_by"]) == ("verified", network.checker)
    assert recalled["verified_at"] is not None and recalled["expires_at"] is not None
    assert (recalled["cases_relying"], recalled["cases_flagged"]) == (1, 1)
    assert recalled["version"] == 3  # reported, verified, marked unsafe


async def test_one_resource_keeps_its_contact_sealed_and_says_when_it_expired(
        network: Network) -> None:
    route = uuid4()
    await network.send("resources.report", network.helper, {CallerRole.VOLUNTEER},
                       resource_id=route, kind="transport", region="kharkiv",
                       contact={"name": "Petro Driver", "phone": "+380501234567"})
    verified = await network.send("resources.verify", network.checker,
                                  {CallerRole.FACT_CHECKER}, resource_id=route)
    later = (now() + timedelta(days=3)).isoformat()

    seen = await network.get(f"/resources/{route}", network.token("sup", CallerRole.SUPERVISOR),
                             now=later, min_position=verified.position, wait_ms=10_000)

    body = seen.json()
    assert seen.status_code == 200 and body["has_contact"] is True
    assert "Petro" not in seen.text and "380501234567" not in seen.text
    assert (body["usable"], body["unusable_because"], body["expires_in_seconds"]) == (
        False, "expired", 0)
    assert (body["cases_relying"], body["cases_flagged"]) == (0, 0)


async def test_one_resource_refuses_an_unknown_id_a_bad_id_and_no_token(
        network: Network) -> None:
    _, verified = await verified_shelter(network)
    anyone = network.token("intake-bot", CallerRole.INTAKE)
    unknown = uuid4()

    missing = await network.get(f"/resources/{unknown}", anyone,
                                min_position=verified.position, wait_ms=10_000)
    malformed = await network.get("/resources/not-a-uuid", anyone)
    anonymous = await network.client.get(f"/resources/{unknown}")

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert str(unknown) in missing.json()["detail"]
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "resource_id"
    assert anonymous.status_code == 401


async def test_workload_counts_cases_and_shows_capacity(network: Network) -> None:
    case_id, _ = await open_case(network)
    took = await network.send("cases.take", network.helper, {CallerRole.VOLUNTEER},
                              case_id=case_id)
    supervisor = network.token("sup", CallerRole.SUPERVISOR)
    wait = {"min_position": took.position, "wait_ms": 10_000}

    mine = (await network.get(f"/workload/{network.helper}", supervisor, **wait)).json()
    capable = (await network.get("/workload", supervisor, capacity_only=True,
                                 max_urgent_cases=1, **wait)).json()

    assert (mine["active_cases"], mine["urgent_cases"], mine["cleared"]) == (1, 1, True)
    assert mine["last_activity_at"] is not None
    assert [v["volunteer_id"] for v in capable["volunteers"]] == [network.checker]


async def test_one_volunteers_workload_honours_the_limits_the_list_takes(
        network: Network) -> None:
    started = now()
    shift = await network.send("volunteers.start_shift", network.helper,
                               {CallerRole.VOLUNTEER})
    at = _same_day_in_kyiv(started, started + timedelta(minutes=10))
    supervisor = network.token("sup", CallerRole.SUPERVISOR)
    asked = {"now": at.isoformat(), "min_position": shift.position, "wait_ms": 10_000,
             "max_hours_per_day": 0.05}

    mine = (await network.get(f"/workload/{network.helper}", supervisor, **asked)).json()
    listed = (await network.get("/workload", supervisor, on_shift=True, **asked)).json()
    usual = (await network.get(f"/workload/{network.helper}", supervisor,
                               **{**asked, "max_hours_per_day": 12})).json()
    refused = await network.get(f"/workload/{network.helper}", supervisor, max_hours_per_day=0)

    assert mine["hours_on_shift_today"] > 0.05
    assert (mine["long_day"], mine["overloaded"], mine["has_capacity"]) == (True, True, False)
    assert listed["volunteers"] == [mine]
    assert (usual["long_day"], usual["has_capacity"]) == (False, True)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "max_hours_per_day"


def _same_day_in_kyiv(started: datetime, at: datetime) -> datetime:
    """`at`, moved past midnight if a day began since `started` (hours today restart)."""
    kyiv = ZoneInfo("Europe/Kyiv")
    if at.astimezone(kyiv).date() != started.astimezone(kyiv).date():
        return at + timedelta(minutes=20)
    return at


async def test_bad_filters_are_422_problems_naming_the_field(network: Network) -> None:
    supervisor = network.token("sup", CallerRole.SUPERVISOR)
    auditor = network.token("aud", CallerRole.AUDITOR)

    cases = {
        "limit": await network.get("/board", supervisor, limit=0),
        "urgency.0": await network.get("/board", supervisor, urgency="apocalyptic"),
        "until": await network.get("/audit", auditor, since="2024-03-02T00:00:00Z",
                                   until="2024-03-01T00:00:00Z"),
        "now": await network.get("/resources/directory", supervisor, now="2024-03-02T00:00"),
        "wait_ms": await network.get("/board", supervisor, wait_ms=999_999),
    }

    for field, response in cases.items():
        assert response.status_code == 422, (field, response.text)
        assert response.json()["errors"][0]["field"] == field


async def test_status_and_metrics_report_the_lag(network: Network) -> None:
    _, outcome = await open_case(network)
    await network.service.wait_for("case_board", outcome.position or 0, 10)
    token = network.token("anyone", CallerRole.INTAKE)

    status = (await network.get("/projections/status", token)).json()
    metrics = (await network.client.get("/metrics")).text

    board = next(s for s in status if s["projection"] == "case_board")
    assert board["position"] == board["head"] >= (outcome.position or 0)
    assert board["lag"] == 0 and board["generation"] == 1
    assert 'corridor_projection_lag_events{projection="case_board"} 0.0' in metrics


async def test_the_board_stream_sends_a_changed_case(network: Network) -> None:
    async def never() -> bool:
        return False

    events = board_events(network.service, StreamView(), never)
    assert await anext(events) == b"retry: 2000\n: connected\n\n"
    case_id, _ = await open_case(network)

    frame = await asyncio.wait_for(anext(events), 10)

    assert frame.startswith(b"event: case\n")
    assert str(case_id).encode() in frame and b"Olena" not in frame
    await events.aclose()  # type: ignore[attr-defined]



async def test_a_compact_stream_sends_the_rows_changed_together_as_one_event(
        network: Network) -> None:
    async def never() -> bool:
        return False

    events = board_events(network.service, StreamView(compact=True), never)
    assert await anext(events) == b"retry: 2000\n: connected\n\n"
    opened = [(await open_case(network))[0] for _ in range(3)]

    rows: list[dict[str, Any]] = []
    while len(rows) < 3:
        frame = await asyncio.wait_for(anext(events), 10)
        for chunk in frame.split(b"\n\n"):
            if chunk.startswith(b"event: cases\n"):
                data = orjson.loads(chunk.split(b"data: ", 1)[1])
                rows += [dict(zip(data["fields"], row, strict=True)) for row in data["rows"]]

    assert sorted(r["case_id"] for r in rows) == sorted(str(c) for c in opened)
    assert all(r["status"] == "unassigned" and "Olena" not in str(r) for r in rows)
    await events.aclose()  # type: ignore[attr-defined]

async def test_a_psychologists_stream_sends_only_their_support_groups_cases(
        network: Network) -> None:
    async def never() -> bool:
        return False

    psychologist = uuid4()
    await network.send("volunteers.register", network.admin, STAFF, volunteer_id=psychologist,
                       display_name="Someone", roles=["psychologist"], time_zone="Europe/Kyiv")
    theirs, _ = await open_case(network)
    other, _ = await open_case(network)
    worker = {CallerRole.VOLUNTEER}
    for case_id in (theirs, other):
        await network.send("cases.take", network.helper, worker, case_id=case_id)
    formed = await network.send("cases.form_support_group", network.helper, worker,
                                case_id=theirs, psychologist_id=psychologist, member_ids=[])
    assert await network.service.wait_for("case_board", formed.position or 0, 10)
    events = board_events(network.service, StreamView(psychologist=psychologist), never)
    assert await anext(events) == b"retry: 2000\n: connected\n\n"

    sent = b""
    for case_id in (other, theirs):  # one change each, the other group's first
        await network.send("cases.add_note", network.helper, worker, case_id=case_id,
                           text="called, all well")
    while str(theirs).encode() not in sent:
        sent += await asyncio.wait_for(anext(events), 10)

    assert str(other).encode() not in sent
    await events.aclose()  # type: ignore[attr-defined]

@pytest.mark.postgres
async def test_events_stored_by_another_process_wake_the_runner(
        postgres_settings: Settings) -> None:
    runtime = await asyncio.to_thread(for_serve, postgres_settings)
    other = CorridorApplication(postgres_settings, os.urandom(32))
    try:
        async with runtime.running():
            service = runtime.projections
            assert service is not None and service.runner is not None
            service.runner.idle_seconds = 60.0  # only a NOTIFY can wake it in time
            await asyncio.sleep(0.5)  # let it go idle
            position = Scenario(other).save(Case.open(
                case_id=uuid4(), person_id=uuid4(), meta=Scenario(other).meta("intake-bot"),
                intake=Intake(safe_now=True, region="sumy", destination="poland",
                              contact_channel="phone")))

            assert await service.wait_for("case_board", position, timeout=5)
    finally:
        other.close()


async def test_a_position_never_written_is_the_callers_mistake(network: Network) -> None:
    head = await network.service.head()

    response = await network.get("/board", network.token("sup", CallerRole.SUPERVISOR),
                                 min_position=head + 1000, wait_ms=100)

    assert response.status_code == 422
    assert response.json()["head"] == head
