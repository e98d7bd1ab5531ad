"""Issue #5 over HTTP: one endpoint per domain command; idempotent retries; optimistic
concurrency; group commit; tokens and roles; problem details; reactions; health.

Each contract runs on SQLite and on PostgreSQL; only the settings differ.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from command_api_driver import Api, Member, eventually, running

from services.auth import TokenIssuer
from services.commands import CATALOG
from services.settings import Settings

PROBLEM_JSON = "application/problem+json"
PROBE_TIMEOUT_SECONDS = 10
"""How long an orchestrator waits for a health probe before counting it as failed."""


def assert_problem(response: httpx.Response, status: int, rule: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status, naming this rule."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["rule"] == rule
    assert body["title"] and body["detail"] and body["type"].startswith("urn:corridor:problem:")
    return body


def in_parallel(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls at the same moment from as many threads; answers in call order."""
    start = threading.Barrier(len(calls))

    def call(index: int) -> httpx.Response:
        start.wait()
        return calls[index]()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call, range(len(calls))))


class TestEndpointsAndDocs:
    """What the OpenAPI document promises does not depend on the store: SQLite only."""

    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings

    def test_every_command_has_its_own_post_endpoint_with_request_and_response_models(
            self, api: Api) -> None:
        document = api.client.get("/openapi.json").json()
        schemas = document["components"]["schemas"]

        for name, spec in CATALOG.items():
            operation = document["paths"][f"/commands{spec.path}"]["post"]
            request_ref = operation["requestBody"]["content"]["application/json"]["schema"]
            request = schemas[request_ref["$ref"].rsplit("/", 1)[-1]]
            response_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert operation["operationId"] == name.replace(".", "_")
            assert set(request["properties"]) == set(spec.body.model_fields), name
            assert request["additionalProperties"] is False, name
            assert response_ref["$ref"].endswith("/Accepted"), name
            assert {"401", "403", "409", "422"} <= set(operation["responses"]), name

    def test_the_command_endpoints_are_exactly_the_catalog(self, api: Api) -> None:
        paths = api.client.get("/openapi.json").json()["paths"]

        command_paths = {p for p in paths if p.startswith("/commands/")}

        assert command_paths == {f"/commands{spec.path}" for spec in CATALOG.values()}

    def test_the_accepted_answer_is_documented_with_stream_version_and_position(
            self, api: Api) -> None:
        accepted = api.client.get("/openapi.json").json()["components"]["schemas"]["Accepted"]

        assert {"stream_id", "version", "position", "duplicate"} <= set(accepted["properties"])

    def test_the_interactive_docs_are_served(self, api: Api) -> None:
        response = api.client.get("/docs")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "swagger-ui" in response.text and "/openapi.json" in response.text


    def test_well_formed_commands_skip_the_framework_route_and_the_rest_fall_back_to_it(
            self, api: Api) -> None:
        app: Any = api.client.app
        app.router.routes = [r for r in app.router.routes
                             if not getattr(r, "path", "").startswith("/commands/")]
        volunteer_id = uuid.uuid4()

        accepted = api.send_body("volunteers/register", api.admin_token,
                                 {"command_id": uuid.uuid4(), "volunteer_id": volunteer_id,
                                  "display_name": "Ira"})
        invalid = api.send_body("volunteers/register", api.admin_token,
                                {"command_id": uuid.uuid4(), "volunteer_id": "not-an-id",
                                 "display_name": "Ira"})
        unauthenticated = api.send_body("volunteers/register", None,
                                        {"command_id": uuid.uuid4(),
                                         "volunteer_id": uuid.uuid4(), "display_name": "Ira"})

        assert accepted.status_code == 200, accepted.text  # answered by the fast path
        assert accepted.json()["events"] == ["VolunteerRegistered"]
        # with the routes gone, what the fast path hands on finds no route at all
        assert (invalid.status_code, unauthenticated.status_code) == (404, 404)


class CommandApiContract:
    """The behaviour every store must show; subclasses provide `settings`."""

    # --- answers -------------------------------------------------------------------------

    def test_an_accepted_command_answers_with_its_stream_version_and_position(
            self, api: Api, volunteer: Member) -> None:
        case_id = uuid.uuid4()

        opened = api.accepted("cases/open", api.admin_token, case_id=case_id,
                              person_id=uuid.uuid4(), intake={"safe_now": True,
                              "region": "Sumy", "destination": "Lviv", "contact_channel": "web"})
        taken = api.accepted("cases/take", volunteer.token, case_id=case_id)
        noted = api.accepted("cases/add-note", volunteer.token, case_id=case_id, text="calm")

        assert [a["stream_id"] for a in (opened, taken, noted)] == [str(case_id)] * 3
        assert [a["version"] for a in (opened, taken, noted)] == [1, 2, 3]
        assert [a["events"] for a in (opened, taken, noted)] == [
            ["CaseOpened"], ["CaseTaken"], ["NoteAdded"]]
        assert opened["position"] < taken["position"] < noted["position"]
        assert not any(a["duplicate"] for a in (opened, taken, noted))

    # --- idempotency ---------------------------------------------------------------------

    def test_a_retried_command_returns_the_original_outcome_and_appends_nothing(
            self, api: Api, volunteer: Member) -> None:
        body = {"command_id": uuid.uuid4(), "volunteer_id": volunteer.id, "minutes": 30,
                "topic": "first aid"}
        original = api.send_body("volunteers/log-training", api.admin_token, body)
        events = api.event_count()

        retry = api.send_body("volunteers/log-training", api.admin_token, body)

        assert (original.status_code, retry.status_code) == (200, 200)
        assert (original.json()["duplicate"], retry.json()["duplicate"]) == (False, True)
        assert {**retry.json(), "duplicate": False} == original.json()
        assert api.event_count() == events
        assert api.aggregate(volunteer.id).training_minutes == 300 + 30

    def test_a_retry_after_a_restart_is_answered_from_the_store(self, settings: Settings) -> None:
        body = {"command_id": uuid.uuid4(), "case_id": uuid.uuid4(),
                "person_id": uuid.uuid4(), "intake": {"safe_now": False, "region": "Kherson",
                                                      "destination": "Odesa",
                                                      "contact_channel": "phone"}}
        with running(settings) as before:
            original = before.send_body("cases/open", before.admin_token, body).json()
            events = before.event_count()

        with running(settings) as after:
            retry = after.send_body("cases/open", after.admin_token, body)

            assert retry.status_code == 200
            assert retry.json() == {**original, "duplicate": True}
            assert after.event_count() == events

    def test_a_retried_rejected_command_gets_the_same_rejection_and_appends_nothing(
            self, api: Api) -> None:
        untrained = api.register("volunteer", trained=False)
        body = {"command_id": uuid.uuid4(), "case_id": api.open_case()}
        original = assert_problem(api.send_body("cases/take", untrained.token, body),
                                  409, "VolunteerNotCleared")
        events = api.event_count()
        api.accepted("volunteers/log-training", api.admin_token, volunteer_id=untrained.id,
                     minutes=300, topic="basics")  # the retry would succeed if it ran again

        retry = assert_problem(api.send_body("cases/take", untrained.token, body),
                               409, "VolunteerNotCleared")

        assert (original["duplicate"], retry["duplicate"]) == (False, True)
        assert retry["detail"] == original["detail"]
        assert api.event_count() == events + 2  # only the training: TrainingLogged, Cleared
        assert api.aggregate(body["case_id"]).assignee_id is None

    def test_a_command_id_reused_with_another_body_is_refused(
            self, api: Api, volunteer: Member) -> None:
        command_id = uuid.uuid4()
        api.send_body("volunteers/log-training", api.admin_token, {
            "command_id": command_id, "volunteer_id": volunteer.id, "minutes": 30,
            "topic": "first aid"})
        events = api.event_count()

        reuse = api.send_body("volunteers/log-training", api.admin_token, {
            "command_id": command_id, "volunteer_id": volunteer.id, "minutes": 600,
            "topic": "first aid"})

        assert_problem(reuse, 422, "CommandIdReused")
        assert api.event_count() == events
        assert api.aggregate(volunteer.id).training_minutes == 300 + 30

    def test_concurrent_submissions_of_one_command_append_once(
            self, api: Api, volunteer: Member) -> None:
        body = {"command_id": uuid.uuid4(), "volunteer_id": volunteer.id, "minutes": 45,
                "topic": "radio"}
        events = api.event_count()

        answers = in_parallel([
            lambda: api.send_body("volunteers/log-training", api.admin_token, body)] * 16)

        assert {a.status_code for a in answers} == {200}
        assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 15
        assert len({(a.json()["version"], a.json()["position"]) for a in answers}) == 1
        assert api.event_count() == events + 1
        assert api.aggregate(volunteer.id).training_minutes == 300 + 45

    # --- optimistic concurrency ----------------------------------------------------------

    def test_a_matching_expected_version_is_accepted(self, api: Api, volunteer: Member) -> None:
        current = api.aggregate(volunteer.id).version

        answer = api.accepted("volunteers/log-training", api.admin_token,
                              volunteer_id=volunteer.id, minutes=10, topic="maps",
                              expected_version=current)

        assert answer["version"] == current + 1

    def test_an_expected_version_mismatch_is_a_conflict_naming_the_current_version(
            self, api: Api, volunteer: Member) -> None:
        current = api.aggregate(volunteer.id).version
        events = api.event_count()

        response = api.send("volunteers/log-training", api.admin_token,
                            volunteer_id=volunteer.id, minutes=10, topic="maps",
                            expected_version=current - 1)

        problem = assert_problem(response, 409, "VersionConflict")
        assert problem["current_version"] == current
        assert api.event_count() == events
        assert api.aggregate(volunteer.id).training_minutes == 300

    # --- group commit --------------------------------------------------------------------

    def test_many_concurrent_commands_are_committed_in_fewer_batches_than_commands(
            self, api: Api, register_volunteer: Callable[..., Member]) -> None:
        trainees = [register_volunteer("volunteer", trained=False) for _ in range(4)]
        writer = api.runtime.writer
        # The writer counts a batch just after answering it: wait for the count to catch up.
        eventually(lambda: writer.commands, until=lambda n: n == len(trainees))
        batches, commands = writer.batches, writer.commands

        answers = in_parallel([
            lambda t=t: api.send("volunteers/log-training", api.admin_token,
                                 volunteer_id=t.id, minutes=5, topic="drill")
            for t in trainees for _ in range(12)])

        assert {a.status_code for a in answers} == {200}
        assert eventually(lambda: writer.commands - commands, until=lambda n: n == 48) == 48
        assert writer.batches - batches < writer.commands - commands
        assert [api.aggregate(t.id).training_minutes for t in trainees] == [60] * 4

    # --- authentication and roles --------------------------------------------------------

    @pytest.mark.parametrize("credential", ["missing", "garbage", "forged", "expired"])
    def test_a_command_without_a_valid_token_is_unauthenticated(
            self, api: Api, credential: str) -> None:
        token = {
            "missing": None,
            "garbage": "not-a-token",
            "forged": TokenIssuer("another-secret-that-is-32-bytes-long").issue(
                "admin", ["admin"]),
            "expired": api.runtime.tokens.issue("admin", ["admin"],
                                                now=datetime.now(UTC) - timedelta(hours=2),
                                                ttl=timedelta(hours=1)),
        }[credential]
        events = api.event_count()

        response = api.send("cases/open", token, case_id=uuid.uuid4(), person_id=uuid.uuid4(),
                            intake={"safe_now": True, "region": "Sumy", "destination": "Lviv",
                                    "contact_channel": "web"})

        assert_problem(response, 401, "authentication")
        assert response.headers["www-authenticate"] == "Bearer"
        assert api.event_count() == events

    @pytest.mark.parametrize(("path", "fields", "roles"), [
        ("volunteers/grant-role", {"volunteer_id": uuid.uuid4(), "role": "admin"}, ["admin"]),
        ("resources/retract", {"resource_id": uuid.uuid4(), "reason": "fake"},
         ["fact_checker", "supervisor"]),
        ("volunteers/ban", {"volunteer_id": uuid.uuid4(), "reason": "spam"},
         ["admin", "supervisor"]),
    ])
    def test_a_caller_without_the_role_is_forbidden_and_told_which_roles_may(
            self, api: Api, volunteer: Member, path: str, fields: dict[str, Any],
            roles: list[str]) -> None:
        events = api.event_count()

        response = api.send(path, volunteer.token, **fields)

        problem = assert_problem(response, 403, "role")
        assert problem["detail"].endswith("needs one of the roles: " + ", ".join(roles))
        assert api.event_count() == events

    def test_the_actor_recorded_on_the_events_is_the_token_subject(
            self, api: Api, volunteer: Member) -> None:
        resource_id = api.report(volunteer)
        api.accepted("volunteers/start-shift", volunteer.token)

        actors = {type(e).__name__: e.meta.actor for e in api.stored_events()
                  if e.originator_id in (resource_id, volunteer.id)}

        assert actors["ResourceReported"] == str(volunteer.id)
        assert actors["ShiftStarted"] == str(volunteer.id)
        assert actors["VolunteerRegistered"] == "admin"
        assert api.aggregate(resource_id).reported_by == volunteer.id

    def test_a_body_that_tries_to_name_the_actor_is_rejected(
            self, api: Api, volunteer: Member, supervisor: Member) -> None:
        events = api.event_count()

        response = api.send("resources/report", volunteer.token, resource_id=uuid.uuid4(),
                            kind="transport", region="Kharkiv", actor=str(supervisor.id))

        problem = assert_problem(response, 422, "validation")
        assert {"field": "actor", "rule": "extra_forbidden"} in [
            {k: e[k] for k in ("field", "rule")} for e in problem["errors"]]
        assert api.event_count() == events

    # --- errors --------------------------------------------------------------------------

    @pytest.mark.parametrize(("path", "fields", "field", "rule"), [
        ("volunteers/log-training", {"volunteer_id": uuid.uuid4(), "minutes": 0, "topic": "x"},
         "minutes", "greater_than"),
        ("volunteers/log-training", {"minutes": 30, "topic": "x"}, "volunteer_id", "missing"),
        ("cases/take", {"case_id": "not-a-uuid"}, "case_id", "uuid_parsing"),
        ("cases/open", {"case_id": uuid.uuid4(), "person_id": uuid.uuid4(),
                        "intake": {"safe_now": True, "region": " ", "destination": "Lviv",
                                   "contact_channel": "web"}},
         "intake.region", "string_too_short"),
        ("resources/report", {"resource_id": uuid.uuid4(), "kind": "spaceship",
                              "region": "Kharkiv"}, "kind", "enum"),
        ("cases/close", {"case_id": uuid.uuid4(), "outcome": "vanished"}, "outcome", "enum"),
    ])
    def test_invalid_input_is_a_problem_naming_the_field_and_the_rule(
            self, api: Api, volunteer: Member, path: str, fields: dict[str, Any], field: str,
            rule: str) -> None:
        events = api.event_count()

        response = api.send(path, volunteer.token, **fields)

        problem = assert_problem(response, 422, "validation")
        assert problem["errors"][0]["field"] == field
        assert problem["errors"][0]["rule"] == rule
        assert problem["detail"].startswith(f"{field}: ")
        assert api.event_count() == events

    @pytest.mark.parametrize("scenario", [
        "VolunteerNotCleared", "CannotVerifyOwnReport", "ResourceNotUsable", "ShelterFull",
        "StepOutOfOrder", "CaseClosed", "NotFound", "OutcomeContradictsJourney",
        "ActorNotRegistered",
    ])
    def test_a_broken_rule_is_a_problem_named_after_the_rule_and_writes_nothing(
            self, api: Api, volunteer: Member, fact_checker: Member, scenario: str) -> None:
        path, token, fields, status = BROKEN_RULES[scenario](api, volunteer, fact_checker)
        events = api.event_count()

        response = api.send(path, token, **fields)

        assert_problem(response, status, scenario)
        assert api.event_count() == events

    # --- reactions -----------------------------------------------------------------------

    def test_marking_a_resource_unsafe_flags_every_active_case_relying_on_it(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        bus = api.verified(volunteer, fact_checker)
        driven, advised, closed = (api.taken_case(volunteer) for _ in range(3))
        api.accepted("cases/arrange-transport", volunteer.token, case_id=driven,
                     resource_ids=[bus])
        api.accepted("cases/give-advice", volunteer.token, case_id=advised,
                     text="take the morning bus", resource_ids=[bus])
        api.accepted("cases/arrange-transport", volunteer.token, case_id=closed,
                     resource_ids=[bus])
        api.accepted("cases/close", volunteer.token, case_id=closed, outcome="lost_contact")

        api.accepted("resources/mark-unsafe", volunteer.token, resource_id=bus,
                     reason="shelled")

        flags = eventually(lambda: [api.aggregate(c).flags for c in (driven, advised)],
                           until=lambda found: all(found))
        assert [[(f["reason"], f["resource_id"]) for f in fs] for fs in flags] == [
            [("resource_unsafe", bus)], [("resource_unsafe", bus)]]
        assert api.aggregate(closed).flags == []

    def test_banning_a_volunteer_retracts_their_reports_and_releases_their_cases(
            self, api: Api, volunteer: Member, fact_checker: Member,
            supervisor: Member) -> None:
        unverified = api.report(volunteer)
        verified = api.verified(volunteer, fact_checker)
        case_id = api.taken_case(volunteer)

        api.accepted("volunteers/ban", supervisor.token, volunteer_id=volunteer.id,
                     reason="fake reports")

        case = eventually(lambda: api.aggregate(case_id),
                          until=lambda c: c.assignee_id is None)
        assert case.status.value == "unassigned"
        resources = eventually(lambda: [api.aggregate(r) for r in (unverified, verified)],
                               until=lambda rs: all(r.status.value == "retracted"
                                                    for r in rs))
        assert [r.status.value for r in resources] == ["retracted", "retracted"]

    def test_a_tick_after_expiry_expires_the_verification_and_flags_relying_cases(
            self, api: Api, volunteer: Member, fact_checker: Member) -> None:
        route = api.verified(volunteer, fact_checker, kind="route")
        case_id = api.taken_case(volunteer)
        api.accepted("cases/give-advice", volunteer.token, case_id=case_id,
                     text="use the river road", resource_ids=[route])
        expires_at = api.aggregate(route).expires_at
        reactions = api.runtime.reactions
        assert reactions is not None
        stored_up_to = api.runtime.app.recorder.max_notification_id()
        eventually(lambda: reactions.seen_up_to, until=lambda seen: seen >= stored_up_to)

        outcomes = reactions.tick(at=expires_at + timedelta(minutes=1))

        assert [(o.status, o.events) for o in outcomes] == [
            ("accepted", ["VerificationExpired"])]
        assert api.aggregate(route).verification.value == "expired"
        flags = eventually(lambda: api.aggregate(case_id).flags, until=bool)
        assert [(f["reason"], f["resource_id"]) for f in flags] == [
            ("verification_expired", route)]

    # --- health --------------------------------------------------------------------------

    def test_the_service_is_live(self, api: Api) -> None:
        response = api.client.get("/health/live")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_the_service_is_ready_when_the_event_store_answers(self, api: Api) -> None:
        response = api.client.get("/health/ready")

        assert response.status_code == 200
        assert response.json()["status"] == "ready"
        assert response.json()["checks"]["event_store"] is True


Scenario = Callable[[Api, Member, Member], tuple[str, str, dict[str, Any], int]]


def _untrained_takes_a_case(api: Api, volunteer: Member, checker: Member) -> Any:
    untrained = api.register("volunteer", trained=False)
    return "cases/take", untrained.token, {"case_id": api.open_case()}, 409


def _checker_verifies_own_report(api: Api, volunteer: Member, checker: Member) -> Any:
    return "resources/verify", checker.token, {"resource_id": api.report(checker)}, 403


def _transport_on_an_unverified_resource(api: Api, volunteer: Member, checker: Member) -> Any:
    fields = {"case_id": api.taken_case(volunteer), "resource_ids": [api.report(volunteer)]}
    return "cases/arrange-transport", volunteer.token, fields, 409


def _advice_relying_on_a_full_shelter(api: Api, volunteer: Member, checker: Member) -> Any:
    shelter = api.verified(volunteer, checker, kind="shelter", capacity=2)
    api.accepted("resources/update-occupancy", volunteer.token, resource_id=shelter,
                 occupancy=2)
    fields = {"case_id": api.taken_case(volunteer), "text": "go there",
              "resource_ids": [shelter]}
    return "cases/give-advice", volunteer.token, fields, 409


def _arrival_before_departure(api: Api, volunteer: Member, checker: Member) -> Any:
    fields = {"case_id": api.taken_case(volunteer), "place": "Lviv"}
    return "cases/record-arrival", volunteer.token, fields, 409


def _note_on_a_closed_case(api: Api, volunteer: Member, checker: Member) -> Any:
    case_id = api.taken_case(volunteer)
    api.accepted("cases/close", volunteer.token, case_id=case_id, outcome="lost_contact")
    return "cases/add-note", volunteer.token, {"case_id": case_id, "text": "called"}, 409


def _taking_a_case_that_does_not_exist(api: Api, volunteer: Member, checker: Member) -> Any:
    return "cases/take", volunteer.token, {"case_id": uuid.uuid4()}, 404


def _evacuated_before_arriving(api: Api, volunteer: Member, checker: Member) -> Any:
    fields = {"case_id": api.taken_case(volunteer), "outcome": "evacuated"}
    return "cases/close", volunteer.token, fields, 422


def _token_of_nobody_registered(api: Api, volunteer: Member, checker: Member) -> Any:
    stranger = api.token(uuid.uuid4(), "volunteer")
    return "cases/take", stranger, {"case_id": api.open_case()}, 403


BROKEN_RULES: dict[str, Scenario] = {
    "VolunteerNotCleared": _untrained_takes_a_case,
    "CannotVerifyOwnReport": _checker_verifies_own_report,
    "ResourceNotUsable": _transport_on_an_unverified_resource,
    "ShelterFull": _advice_relying_on_a_full_shelter,
    "StepOutOfOrder": _arrival_before_departure,
    "CaseClosed": _note_on_a_closed_case,
    "NotFound": _taking_a_case_that_does_not_exist,
    "OutcomeContradictsJourney": _evacuated_before_arriving,
    "ActorNotRegistered": _token_of_nobody_registered,
}
"""Rule name -> arrange a world where this command breaks it: (path, token, body, status)."""


class TestCommandApiOnSQLite(CommandApiContract):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestCommandApiOnPostgres(CommandApiContract):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings

    def test_the_service_is_not_ready_while_the_database_refuses_connections(
            self, api: Api, settings: Settings, pg_dsn: str) -> None:
        database = urlsplit(settings.pg_dsn or "").path.lstrip("/")
        with psycopg.connect(pg_dsn, autocommit=True) as admin, \
                ThreadPoolExecutor(max_workers=1) as prober:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s", (database,))
            try:
                probe = prober.submit(api.client.get, "/health/ready")
                response = probe.result(timeout=PROBE_TIMEOUT_SECONDS)
            except TimeoutError:
                pytest.fail(f"/health/ready gave no answer within {PROBE_TIMEOUT_SECONDS} s "
                            "while the database refused connections", pytrace=False)
            finally:
                admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

        assert response.status_code == 503
        assert response.json()["status"] == "not ready"
        assert response.json()["checks"]["event_store"] is False
