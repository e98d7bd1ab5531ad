"""The audit over HTTP: auditors (and admins) replay, compare, verify and export; everyone
else is refused; bad parameters are named; every read lands in the access log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from command_api_driver import INTAKE, Api, Member
from fastapi import FastAPI
from fastapi.testclient import TestClient

from domain.access import access_log_id
from services.api.app import create_app
from services.audit.api import router as audit_router
from services.settings import Settings


def audit_app(settings: Settings) -> FastAPI:
    """The service, with the audit router included unless the lead has wired it already."""
    app = create_app(settings)
    if not any(getattr(route, "path", "").startswith("/audit/") for route in app.routes):
        app.include_router(audit_router())
    return app


@dataclass
class Case:
    id: UUID
    person: UUID
    worker: Member
    resource: UUID
    after_take: datetime


class AuditApiContract:
    @pytest.fixture
    def api(self, settings: Settings) -> Iterator[Api]:
        with TestClient(audit_app(settings)) as client:
            yield Api(client)

    @pytest.fixture
    def case(self, api: Api) -> Case:
        worker = api.register("volunteer", "supervisor")
        resource = api.verified(worker, api.register("fact_checker"), kind="route")
        case_id, person = uuid4(), uuid4()
        api.accepted("cases/open", api.token("intake-bot", "intake"), case_id=case_id,
                     person_id=person, intake=INTAKE)
        api.accepted("cases/take", worker.token, case_id=case_id)
        after_take = datetime.now(UTC)
        api.accepted("cases/give-advice", worker.token, case_id=case_id,
                     text="stay put, the road is shelled", resource_ids=[resource])
        return Case(case_id, person, worker, resource, after_take)

    @pytest.fixture
    def auditor(self, api: Api) -> str:
        return api.token("auditor-1", "auditor")

    def get(self, api: Api, path: str, token: str | None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return api.client.get(path, params=params or None, headers=headers)

    def problem(self, response: httpx.Response, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body: dict[str, Any] = response.json()
        return body

    # --- who may ask ---------------------------------------------------------------------

    def test_an_auditor_replays_a_case_with_personal_data_redacted(
            self, api: Api, case: Case, auditor: str) -> None:
        response = self.get(api, f"/audit/{case.id}/history", auditor, purpose="complaint 17")

        assert response.status_code == 200, response.text
        history = response.json()
        assert [e["type"] for e in history["entries"]] == ["CaseOpened", "CaseTaken",
                                                           "AdviceGiven"]
        assert history["personal_data"] == "redacted"
        assert history["entries"][-1]["state"]["personal"] == "[redacted]"
        assert "Olena K" not in response.text

    def test_only_auditors_and_admins_may_use_the_audit(self, api: Api, case: Case) -> None:
        path = f"/audit/{case.id}/history"

        self.problem(self.get(api, path, None), 401)
        for roles in (("volunteer",), ("supervisor",), ("intake",), ("fact_checker",)):
            body = self.problem(self.get(api, path, api.token("someone", *roles)), 403)
            assert body["rule"] == "role"
        assert self.get(api, path, api.admin_token).status_code == 200
        self.problem(self.get(api, "/audit/verify", case.worker.token), 403)

    def test_a_granted_auditor_sees_personal_data_and_every_view_is_logged(
            self, api: Api, case: Case, auditor: str) -> None:
        supervisor = api.token("supervisor-1", "supervisor")
        api.accepted("audit/grant", supervisor, stream_id=case.id, auditor="auditor-1",
                     purpose="complaint 17")

        history = self.get(api, f"/audit/{case.id}/history", auditor, purpose="complaint 17")
        log = self.get(api, f"/audit/{access_log_id(case.id)}/history", api.admin_token).json()

        assert history.json()["entries"][-1]["state"]["personal"]["name"] == "Olena K"
        assert [e["type"] for e in log["entries"]] == [
            "AccessLogOpened", "AuditAccessGranted", "PersonalDataViewed", "HistoryViewed"]
        viewed = log["entries"][2]["data"]
        assert (viewed["viewer"], viewed["purpose"], viewed["subject_ids"]) == (
            "auditor-1", "complaint 17", [str(case.person)])

    def test_only_supervisors_and_admins_grant_access(self, api: Api, case: Case,
                                                      auditor: str) -> None:
        response = api.send("audit/grant", auditor, stream_id=case.id, auditor="auditor-1",
                            purpose="self-service")

        self.problem(response, 403)

    # --- as of, diff, resources ----------------------------------------------------------

    def test_as_of_a_version_or_a_time(self, api: Api, case: Case, auditor: str) -> None:
        by_version = self.get(api, f"/audit/{case.id}/as-of", auditor, version=2).json()
        by_time = self.get(api, f"/audit/{case.id}/as-of", auditor,
                           at=case.after_take.isoformat()).json()
        before = self.get(api, f"/audit/{case.id}/as-of", auditor,
                          at="2001-01-01T00:00:00Z").json()

        assert (by_version["version"], by_version["state"]["status"]) == (2, "assigned")
        assert (by_time["version"], by_time["state"]["resource_ids"]) == (2, [])
        assert (before["exists"], before["version"]) == (False, 0)

    def test_diff_between_two_moments(self, api: Api, case: Case, auditor: str) -> None:
        diff = self.get(api, f"/audit/{case.id}/diff", auditor, **{"from": 2, "to": 3}).json()
        by_time = self.get(api, f"/audit/{case.id}/diff", auditor,
                           **{"from": case.after_take.isoformat(), "to": 3}).json()

        assert [c["path"] for c in diff["changes"]] == ["resource_ids", "journal",
                                                        "last_contact_at"]  # advice: contact
        assert [e["type"] for e in diff["events"]] == ["AdviceGiven"]
        assert by_time["from_version"] == 2

    def test_resources_as_they_stood_when_relied_on(self, api: Api, case: Case,
                                                    auditor: str) -> None:
        api.accepted("resources/mark-unsafe", case.worker.token, resource_id=case.resource,
                     reason="shelled")

        uses = self.get(api, f"/audit/{case.id}/resources", auditor).json()["uses"]

        # (a recall policy, if running in the service, may have flagged the case since)
        [use] = [u for u in uses if u["event_type"] == "AdviceGiven"]
        assert use["resource_id"] == str(case.resource)
        assert use["verification"]["verification"] == "verified"
        assert (use["verification"]["status"], use["usable"]) == ("available", True)

    # --- bad requests ----------------------------------------------------------------------

    @pytest.mark.parametrize(("path", "params", "parameter"), [
        ("as-of", {}, "version"),
        ("as-of", {"version": 1, "at": "2022-03-01T00:00:00Z"}, "at"),
        ("as-of", {"version": -1}, "version"),
        ("as-of", {"version": 10**30}, "version"),
        ("as-of", {"at": "yesterday"}, "at"),
        ("as-of", {"at": "2022-03-01T00:00:00"}, "at"),
        ("diff", {"from": "soon", "to": 2}, "from"),
        ("diff", {"from": 1}, "to"),
        ("diff", {"from": 1, "to": -3}, "to"),
        ("diff", {"from": 10**30, "to": 1}, "from"),
        ("export", {"format": "pdf"}, "format"),
        ("history", {"from_version": 0}, "from_version"),
        ("history", {"purpose": "   "}, "purpose"),
    ])
    def test_bad_parameters_are_refused_naming_the_parameter(
            self, api: Api, case: Case, auditor: str, path: str, params: dict[str, Any],
            parameter: str) -> None:
        body = self.problem(self.get(api, f"/audit/{case.id}/{path}", auditor, **params), 422)

        assert body["errors"][0]["field"] == parameter
        assert body["detail"].startswith(f"{parameter}: ")

    def test_a_malformed_stream_id_is_refused(self, api: Api, auditor: str) -> None:
        body = self.problem(self.get(api, "/audit/not-a-uuid/history", auditor), 422)

        assert body["errors"][0]["field"] == "stream_id"

    @pytest.mark.parametrize("path", ["history", "as-of?version=1", "diff?from=0&to=1",
                                      "resources", "export"])
    def test_a_missing_stream_is_not_found(self, api: Api, auditor: str, path: str) -> None:
        body = self.problem(self.get(api, f"/audit/{uuid4()}/{path}", auditor), 404)

        assert body["rule"] == "NotFound"

    def test_verifying_a_missing_stream_is_not_found(self, api: Api, auditor: str) -> None:
        self.problem(self.get(api, "/audit/verify", auditor, stream_id=uuid4()), 404)

    # --- export, verify, anchor ------------------------------------------------------------

    @pytest.mark.parametrize(("fmt", "media_type"), [
        ("json", "application/json"), ("csv", "text/csv"), ("html", "text/html")])
    def test_exports_come_as_downloads_in_each_format(
            self, api: Api, case: Case, auditor: str, fmt: str, media_type: str) -> None:
        response = self.get(api, f"/audit/{case.id}/export", auditor, format=fmt)

        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media_type)
        assert f'filename="history-{case.id}.{fmt}"' in response.headers["content-disposition"]
        assert "[redacted]" in response.text and "Olena K" not in response.text

    def test_verify_then_anchor_then_verify_again(self, api: Api, case: Case,
                                                  auditor: str) -> None:
        whole = self.get(api, "/audit/verify", auditor).json()
        one = self.get(api, "/audit/verify", auditor, stream_id=case.id).json()
        api.accepted("audit/anchor", auditor)
        anchored = self.get(api, "/audit/verify", auditor).json()

        assert (whole["ok"], whole["scope"], whole["anchors"]) == (True, "store", [])
        assert (one["ok"], one["scope"], one["events_checked"]) == (True, "stream", 3)
        assert anchored["ok"] and [a["ok"] for a in anchored["anchors"]] == [True]

    def test_a_changed_byte_shows_up_in_verify(self, api: Api, case: Case,
                                               auditor: str) -> None:
        app: Any = api.runtime.app
        stored = app.recorder.select_events(case.id, gt=2, lte=3)[0]
        route = case.resource.hex.encode()  # the readable part of the advice: what it relied on
        altered = stored.state.replace(route, route[:-1] + (b"0" if route[-1:] != b"0" else b"1"))
        _overwrite(api, case.id, 3, altered)

        report = self.get(api, "/audit/verify", auditor).json()
        history = self.get(api, f"/audit/{case.id}/history", auditor).json()
        as_of = self.get(api, f"/audit/{case.id}/as-of", auditor, version=3).json()

        assert not report["ok"]
        first = report["first_break"]
        assert (first["stream_id"], first["version"], first["kind"]) == (
            str(case.id), 3, "altered")
        for answer in (history, as_of):
            assert not answer["chain"]["intact"]
            assert answer["chain"]["first_break"] == first

    def test_history_and_as_of_say_an_untouched_chain_is_intact(
            self, api: Api, case: Case, auditor: str) -> None:
        history = self.get(api, f"/audit/{case.id}/history", auditor, from_version=2).json()
        as_of = self.get(api, f"/audit/{case.id}/as-of", auditor, version=2).json()

        assert (history["chain"]["intact"], history["chain"]["events_checked"]) == (True, 2)
        assert (as_of["chain"]["intact"], as_of["chain"]["events_checked"]) == (True, 2)
        assert history["chain"]["breaks"] == as_of["chain"]["breaks"] == []


def _overwrite(api: Api, stream_id: UUID, version: int, state: bytes) -> None:
    """UPDATE the stored event with SQL, behind the application's back."""
    settings = api.runtime.settings
    table = api.runtime.app.recorder.events_table_name  # type: ignore[attr-defined]
    if settings.store == "sqlite":
        import sqlite3

        with sqlite3.connect(settings.sqlite_path) as connection:
            connection.execute(f"UPDATE {table} SET state = ? WHERE originator_id = ? AND "
                               "originator_version = ?", (state, stream_id.hex, version))
        return
    import psycopg

    assert settings.pg_dsn is not None
    with psycopg.connect(settings.pg_dsn, autocommit=True) as connection:
        connection.execute(f"UPDATE {table} SET state = %s WHERE originator_id = %s AND "  # type: ignore[arg-type]
                           "originator_version = %s", (state, stream_id, version))


class TestAuditApiOnSQLite(AuditApiContract):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestAuditApiOnPostgres(AuditApiContract):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
