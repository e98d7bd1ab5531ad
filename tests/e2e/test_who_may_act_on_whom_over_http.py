"""Issue 20, item 2, over HTTP: nobody registers, trains, sanctions or grants beyond their
own rights. Each refusal is a problem naming the rule (403, or 409 for a banned caller), and
nothing is stored. SQLite and PostgreSQL, one process and the writer process."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from command_api_driver import Api, Member
from test_serve_workers import Served, served  # noqa: F401  (the served fixture)

from services.settings import Settings

PROBLEM_JSON = "application/problem+json"


def refused(api: Api, response: httpx.Response, status: int, rule: str,
            events_before: int) -> dict[str, Any]:
    """A problem document with this status naming this rule, and nothing stored."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = response.json()
    assert (problem["status"], problem["rule"]) == (status, rule)
    assert problem["type"] == f"urn:corridor:problem:{rule}"
    assert api.event_count() == events_before
    return problem


def register(api: Api, token: str, *roles: str) -> tuple[uuid.UUID, httpx.Response]:
    volunteer_id = uuid.uuid4()
    return volunteer_id, api.send("volunteers/register", token, volunteer_id=volunteer_id,
                                  display_name="Taras", roles=list(roles))


class WhoMayActOnWhom:
    # --- item 2: a supervisor can create an admin ----------------------------------------

    def test_a_supervisor_cannot_register_an_admin_and_the_problem_names_the_rule(
            self, api: Api, supervisor: Member) -> None:
        events = api.event_count()

        volunteer_id, response = register(api, supervisor.token, "admin")

        problem = refused(api, response, 403, "CannotGrantRole", events)
        assert problem["detail"].startswith(
            "only someone who may grant a role may register someone with it")
        assert "admin" in problem["detail"]
        assert not api.runtime.app.recorder.select_events(volunteer_id)

    @pytest.mark.parametrize("role", ["supervisor", "fact_checker", "psychologist", "auditor"])
    def test_a_supervisor_registers_nobody_with_a_role_only_an_admin_grants(
            self, api: Api, supervisor: Member, role: str) -> None:
        events = api.event_count()

        _, response = register(api, supervisor.token, "volunteer", role)

        refused(api, response, 403, "CannotGrantRole", events)

    def test_a_supervisor_credential_naming_no_volunteer_cannot_register_an_admin(
            self, api: Api) -> None:
        events = api.event_count()

        _, response = register(api, api.token("night-shift-lead", "supervisor"), "admin")

        refused(api, response, 403, "CannotGrantRole", events)

    def test_a_supervisor_registers_volunteers_and_an_admin_registers_admins(
            self, api: Api, supervisor: Member) -> None:
        helper, by_supervisor = register(api, supervisor.token, "volunteer")
        boss, by_admin = register(api, api.admin_token, "admin")

        assert (by_supervisor.status_code, by_admin.status_code) == (200, 200), by_admin.text
        assert api.aggregate(helper).roles == {"volunteer"}
        assert api.aggregate(boss).roles == {"admin"}

    # --- the same kind of path elsewhere -------------------------------------------------

    @pytest.mark.parametrize("sanction", ["suspend", "ban"])
    def test_a_supervisor_cannot_suspend_or_ban_an_admin(
            self, api: Api, supervisor: Member, sanction: str) -> None:
        admin = api.register("admin")
        events = api.event_count()

        response = api.send(f"volunteers/{sanction}", supervisor.token, volunteer_id=admin.id,
                            reason="out of spite")

        problem = refused(api, response, 403, "CannotSanctionAdmin", events)
        assert "only an admin suspends, bans or reinstates an admin" in problem["detail"]
        assert api.aggregate(admin.id).standing.value == "active"

    def test_a_supervisor_cannot_log_their_own_training(self, api: Api) -> None:
        untrained = api.register("supervisor", "volunteer", trained=False)
        events = api.event_count()

        response = api.send("volunteers/log-training", untrained.token,
                            volunteer_id=untrained.id, minutes=300, topic="self-taught")

        refused(api, response, 403, "CannotCertifyOwnTraining", events)
        assert not api.aggregate(untrained.id).cleared

    def test_a_banned_supervisor_grants_no_audit_access_with_their_old_token(
            self, api: Api, supervisor: Member) -> None:
        case_id = api.open_case()
        api.accepted("volunteers/ban", api.register("supervisor").token,
                     volunteer_id=supervisor.id, reason="sold case lists")
        events = api.event_count()

        response = api.send("audit/grant", supervisor.token, stream_id=case_id,
                            auditor="accomplice", purpose="curious")

        refused(api, response, 409, "VolunteerBanned", events)

    def test_a_demoted_supervisor_erases_no_case_with_their_old_token(
            self, api: Api, supervisor: Member) -> None:
        case_id = api.open_case()
        api.accepted("volunteers/revoke-role", api.register("admin").token,
                     volunteer_id=supervisor.id,
                     role="supervisor")
        events = api.event_count()

        response = api.send("cases/erase-personal-data", supervisor.token, case_id=case_id)

        refused(api, response, 403, "NotASupervisor", events)

    def test_a_supervisor_erases_no_resource_contact(
            self, api: Api, supervisor: Member) -> None:
        resource_id = api.report(supervisor, kind="contact", contact={"phone": "+380 44"})
        person = api.aggregate(resource_id).contact.subject_id
        events = api.event_count()

        response = api.send("resources/erase-personal-data",
                            api.token(supervisor.id, "supervisor", "admin"),
                            resource_id=resource_id, subject_id=person)

        refused(api, response, 403, "NotAnAdmin", events)


class TestWhoMayActOnWhomOnSQLite(WhoMayActOnWhom):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestWhoMayActOnWhomOnPostgres(WhoMayActOnWhom):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings


# --- `corridor serve --writer-process`: the writer hears the caller's credential roles ----


@pytest.mark.postgres
async def test_the_writer_process_applies_the_rule_to_the_roles_the_caller_holds(
        served: Served) -> None:  # noqa: F811  (the fixture imported above)
    body = {"display_name": "Taras", "roles": ["admin", "volunteer"]}
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
        by_lead = await client.post("/commands/volunteers/register", json={
            **body, "command_id": str(uuid.uuid4()), "volunteer_id": str(uuid.uuid4())},
            headers=served.headers("night-shift-lead", "supervisor"))
        by_admin = await client.post("/commands/volunteers/register", json={
            **body, "command_id": str(uuid.uuid4()), "volunteer_id": str(uuid.uuid4())},
            headers=served.headers("admin", "admin"))

    assert (by_lead.status_code, by_lead.json()["rule"]) == (403, "CannotGrantRole")
    assert by_admin.status_code == 200, by_admin.text
