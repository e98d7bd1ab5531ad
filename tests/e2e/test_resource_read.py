"""GET /resources/{id} over HTTP: one resource's status and verification, whether it may be
handed out, and the cases relying on it, through a recall; the driver's contact stays sealed.
On the embedded default and on PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from command_api_driver import Api, eventually

from services.settings import Settings

DRIVER = {"name": "Mykola Driverenko", "phone": "+380671112233"}


class ResourceReadContract:
    def read(self, api: Api, resource_id: UUID, token: str,
             **params: Any) -> httpx.Response:
        return api.client.get(f"/resources/{resource_id}", params=params,
                              headers={"Authorization": f"Bearer {token}"})

    def test_a_recalled_resource_says_why_and_who_relies_on_it(self, api: Api) -> None:
        worker, checker = api.register("volunteer"), api.register("fact_checker")
        bus = api.verified(worker, checker, "transport", contact=DRIVER)
        case_id = api.taken_case(worker)
        advised = api.accepted("cases/give-advice", worker.token, case_id=case_id,
                               text="the 9:00 bus", resource_ids=[bus])
        reader = api.token("intake-bot", "intake")

        before = self.read(api, bus, reader, min_position=advised["position"], wait_ms=10_000)
        recalled = api.accepted("resources/mark-unsafe", worker.token, resource_id=bus,
                                reason="the bus on the route was hit")
        after = self.read(api, bus, reader, min_position=recalled["position"], wait_ms=10_000)
        flagged = eventually(lambda: self.read(api, bus, reader).json(),
                             lambda body: body["cases_flagged"] == 1, timeout=10)

        assert before.status_code == after.status_code == 200, after.text
        assert (before.json()["usable"], before.json()["cases_relying"]) == (True, 1)
        body = after.json()
        assert (body["status"], body["reason"], body["usable"], body["unusable_because"]) == (
            "unsafe", "the bus on the route was hit", False, "unsafe")
        assert (body["verification"], body["verified_by"]) == ("verified", str(checker.id))
        assert body["has_contact"] is True
        for answer in (before, after):
            assert "Mykola" not in answer.text and "380671112233" not in answer.text
        assert (flagged["cases_relying"], flagged["cases_flagged"]) == (1, 1)  # the recall policy

    def test_an_unknown_resource_is_a_404_problem_naming_it(self, api: Api) -> None:
        unknown = uuid4()

        missing = self.read(api, unknown, api.token("intake-bot", "intake"))

        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert str(unknown) in missing.json()["detail"]

    def test_the_openapi_document_declares_its_problems(self, api: Api) -> None:
        operation = api.client.get("/openapi.json").json()["paths"][
            "/resources/{resource_id}"]["get"]

        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/DirectoryEntry"}
        for status in ("401", "404", "422", "504"):
            assert "application/problem+json" in operation["responses"][status]["content"]


class TestResourceReadOnSQLite(ResourceReadContract):
    @pytest.fixture
    def settings(self, sqlite_settings: Settings) -> Settings:
        return sqlite_settings


@pytest.mark.postgres
class TestResourceReadOnPostgres(ResourceReadContract):
    @pytest.fixture
    def settings(self, postgres_settings: Settings) -> Settings:
        return postgres_settings
