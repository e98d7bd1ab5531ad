"""Hostile command bodies get a problem with a status the OpenAPI document declares for the
operation (issue 25): a body that is not UTF-8 or nests thousands of levels deep got an
undocumented 400 on every command; a wrong content type is a 415 naming the type expected;
an oversized body is a 413."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from command_api_driver import INTAKE, Api, running, sqlite_settings

from services.commands import CATALOG

PROBLEM = "application/problem+json"
COMMAND_PATHS = sorted(f"/commands{spec.path}" for spec in CATALOG.values())


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running(sqlite_settings(tmp_path_factory.mktemp("hostile-bodies"))) as started:
        yield started


def post(api: Api, path: str, body: bytes, content_type: str = "application/json",
         token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or api.admin_token}",
               "Content-Type": content_type}
    return api.client.post(path, content=body, headers=headers)


def declared_problem(api: Api, path: str, answer: httpx.Response) -> dict[str, Any]:
    """The answer's problem document, once its status is one the document declares for the
    operation, as a problem."""
    declared = api.client.get("/openapi.json").json()["paths"][path]["post"]["responses"]
    assert str(answer.status_code) in declared, (answer.status_code, sorted(declared))
    assert PROBLEM in declared[str(answer.status_code)]["content"]
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    return body


def open_case_body(**intake: Any) -> dict[str, Any]:
    return {"command_id": str(uuid.uuid4()), "case_id": str(uuid.uuid4()),
            "person_id": str(uuid.uuid4()), "intake": {**INTAKE, **intake}}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_a_body_that_is_not_utf_8_is_invalid_json_on_every_command(api: Api, path: str) -> None:
    stored = api.event_count()

    answer = post(api, path, b'{"command_id": "\xff\xfe"}')

    problem = declared_problem(api, path, answer)
    assert answer.status_code == 422
    assert problem["errors"][0] == {"field": "body", "rule": "json_invalid",
                                    "message": "not valid JSON (not UTF-8 at byte 16)"}
    assert api.event_count() == stored


def test_a_body_in_utf_16_is_not_utf_8(api: Api) -> None:
    answer = post(api, "/commands/cases/open", json.dumps(open_case_body()).encode("utf-16"))

    assert declared_problem(api, "/commands/cases/open", answer)["errors"][0]["message"] == (
        "not valid JSON (not UTF-8 at byte 0)")


@pytest.mark.parametrize("depth", [202, 1_000, 100_000])
def test_json_nested_too_deep_is_refused_naming_the_limit(api: Api, depth: int) -> None:
    stored = api.event_count()
    body = json.dumps(open_case_body(notes="NOTES")).replace('"NOTES"', nested(depth))

    answer = post(api, "/commands/cases/open", body.encode())

    problem = declared_problem(api, "/commands/cases/open", answer)
    assert answer.status_code == 422
    assert problem["errors"][0]["rule"] == "json_too_deep"
    assert "more than 200 levels" in problem["detail"]
    assert api.event_count() == stored


def test_json_nested_within_the_limit_is_read_and_its_fields_checked(api: Api) -> None:
    body = json.dumps(open_case_body(notes="NOTES")).replace('"NOTES"', nested(150))

    answer = post(api, "/commands/cases/open", body.encode())

    problem = declared_problem(api, "/commands/cases/open", answer)
    assert problem["errors"][0]["field"] == "intake.notes"


def test_a_deep_body_with_a_bad_token_is_refused_as_a_body_before_the_token(api: Api) -> None:
    answer = post(api, "/commands/cases/open", nested(5_000).encode(), token="not-a-token")

    assert declared_problem(api, "/commands/cases/open", answer)["errors"][0]["rule"] == (
        "json_too_deep")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/merge-patch+json", ""])
def test_a_body_of_another_type_is_a_415_naming_json(api: Api, content_type: str) -> None:
    answer = post(api, "/commands/cases/open", json.dumps(open_case_body()).encode(),
                  content_type=content_type)

    problem = declared_problem(api, "/commands/cases/open", answer)
    assert answer.status_code == 415
    assert "must be application/json" in problem["detail"]


def test_an_oversized_body_is_a_413(tmp_path: Any) -> None:
    with running(sqlite_settings(tmp_path, max_body_bytes=2_048)) as small:
        body = json.dumps(open_case_body(notes="x" * 4_096)).encode()

        answer = post(small, "/commands/cases/open", body)

        assert answer.status_code == 413
        assert "CORRIDOR_MAX_BODY_BYTES" in declared_problem(
            small, "/commands/cases/open", answer)["detail"]
