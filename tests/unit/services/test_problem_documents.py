"""The OpenAPI document declares every problem a route answers, as application/problem+json
with the Problem schema (issue 25: 422s documented as application/json, 401s and 404s not
documented at all); an unexpected failure is a problem document too, not text/plain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from projections.views.common import Moment
from services.api import problems
from services.api.app import create_app
from services.settings import Settings

PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder: Path = tmp_path_factory.mktemp("unused")  # the app is built, never started
    openapi: dict[str, Any] = create_app(Settings(store="sqlite", data_dir=folder)).openapi()
    return openapi


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation) for path, item in document["paths"].items()
            for method, operation in item.items()]


def test_every_error_an_operation_declares_is_a_problem_document(
        document: dict[str, Any]) -> None:
    readiness = ("GET", "/health/ready")
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith("2") or (method, path) == readiness:
                continue
            assert response["content"] == {"application/problem+json": {
                "schema": PROBLEM_SCHEMA}}, (method, path, status)
    assert {"type", "title", "status", "detail"} <= set(
        document["components"]["schemas"]["Problem"]["required"])


def test_every_operation_needing_a_token_declares_401(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if operation.get("security"):
            assert "401" in operation["responses"], (method, path)


def test_every_operation_with_parameters_or_a_body_declares_its_422_as_a_problem(
        document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if operation.get("parameters") or operation.get("requestBody"):
            assert "application/problem+json" in operation["responses"]["422"]["content"], (
                method, path)


@pytest.mark.parametrize(("path", "statuses"), [
    ("/cases/{case_id}", {"200", "401", "403", "404", "422", "503", "504"}),
    ("/board/stream", {"200", "401", "403", "422", "503"}),
    ("/projections/status", {"200", "401", "403", "503"}),
    ("/board", {"200", "401", "403", "422", "503", "504"}),
    ("/commands/cases/open", {"200", "401", "403", "404", "408", "409", "413", "415", "422",
                              "503", "504"}),
])
def test_an_operation_declares_exactly_what_it_answers(document: dict[str, Any], path: str,
                                                       statuses: set[str]) -> None:
    operation = next(iter(document["paths"][path].values()))
    assert set(operation["responses"]) == statuses


@pytest.mark.parametrize("moment", ["2026-03-01 12:00:00Z", "2026-03-01T12:00Z", "1772366400",
                                    "2026-03-01T12:00:00", "2026-03-01",
                                    "2026-03-01T12:00:00+0100"])
def test_a_moment_must_be_written_as_the_declared_date_time_format(moment: str) -> None:
    with pytest.raises(ValidationError, match="RFC 3339"):
        TypeAdapter(Moment).validate_python(moment)


@pytest.mark.parametrize("moment", ["2026-03-01T12:00:00Z", "2026-03-01t12:00:00.25+01:00"])
def test_an_rfc_3339_moment_is_read(moment: str) -> None:
    assert TypeAdapter(Moment).validate_python(moment).tzinfo is not None


def test_an_unexpected_failure_is_a_500_problem_document() -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    answer = TestClient(app, raise_server_exceptions=False).get("/broken")

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["rule"] == "internal"
    assert "a bug" not in answer.text
