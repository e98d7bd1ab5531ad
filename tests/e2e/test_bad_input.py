"""Bad input found by probing the running API gets a 4xx problem naming what is wrong, never
a 500, and a refused command stores nothing: out-of-range times, unbounded offsets, blank
purposes, NUL characters, unknown time zones, unknown streams, odd methods and paths,
malformed JSON, bodies with thousands of errors, and bodies that are not JSON at all."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest
from command_api_driver import INTAKE, Api

from services.settings import Settings

EDGE_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T00:00:00Z"]


@pytest.fixture
def settings(sqlite_settings: Settings) -> Settings:
    return sqlite_settings


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def get(api: Api, path: str, **params: Any) -> httpx.Response:
    return api.client.get(path, params=params,
                          headers={"Authorization": f"Bearer {api.admin_token}"})


def stored_events(api: Api) -> int:
    return len(api.runtime.app.recorder.select_notifications(start=1, limit=1_000_000))


@pytest.mark.parametrize("path", ["/board/counts", "/board/resource-alerts",
                                  "/resources/directory", "/resources/expiring", "/workload"])
@pytest.mark.parametrize("now", EDGE_TIMES)
def test_a_moment_outside_the_supported_years_is_refused_naming_now(
        api: Api, path: str, now: str) -> None:
    body = problem(get(api, path, now=now), 422)

    assert body["errors"][0]["field"] == "now"
    assert "between 1900-01-01 and 2999-12-31" in body["detail"]


@pytest.mark.parametrize("bound", ["since", "until"])
def test_an_audit_window_outside_the_supported_years_is_refused(api: Api, bound: str) -> None:
    body = problem(get(api, "/audit", **{bound: EDGE_TIMES[0]}), 422)

    assert body["errors"][0]["field"] == bound


def test_a_huge_offset_of_resource_alerts_is_refused(api: Api) -> None:
    body = problem(get(api, "/board/resource-alerts", offset=10**23), 422)

    assert body["errors"][0]["field"] == "offset"


def test_a_blank_purpose_for_reading_a_case_is_refused(api: Api) -> None:
    case_id = api.open_case()

    body = problem(get(api, f"/cases/{case_id}", purpose=" \t"), 422)

    assert body["errors"][0]["field"] == "purpose"


@pytest.mark.parametrize(("path", "fields"), [
    ("cases/open", {"case_id": uuid.uuid4(), "person_id": uuid.uuid4(),
                    "intake": {**INTAKE, "region": "Khar\x00kiv"}}),
    ("volunteers/register", {"volunteer_id": uuid.uuid4(), "display_name": "\x00"}),
])
def test_text_with_a_nul_character_is_refused_and_nothing_is_stored(
        api: Api, path: str, fields: dict[str, Any]) -> None:
    before = stored_events(api)

    body = problem(api.send(path, api.admin_token, **fields), 422)

    assert "NUL" in body["detail"]
    assert stored_events(api) == before


@pytest.mark.parametrize("zone", ["../../../etc/passwd", "Mars/Olympus"])
def test_an_unknown_time_zone_is_refused(api: Api, zone: str) -> None:
    body = problem(api.send("volunteers/register", api.admin_token, volunteer_id=uuid.uuid4(),
                            display_name="Ira", time_zone=zone), 422)

    assert body["errors"][0]["field"].endswith("time_zone")
    assert "unknown time zone" in body["detail"]


def test_a_known_time_zone_is_taken(api: Api) -> None:
    api.accepted("volunteers/register", api.admin_token, volunteer_id=uuid.uuid4(),
                 display_name="Ira", time_zone="Europe/Kyiv")


def test_a_case_opened_under_an_existing_id_says_so(api: Api) -> None:
    case_id = api.open_case()
    keys_before = len(api.runtime.app.keys._storage.all_wrapped())

    body = problem(api.send("cases/open", api.admin_token, case_id=case_id,
                            person_id=uuid.uuid4(), intake=INTAKE), 409)

    assert body["rule"] == "AlreadyExists" and str(case_id) in body["detail"]
    assert len(api.runtime.app.keys._storage.all_wrapped()) == keys_before


def test_recording_a_view_of_an_unknown_stream_is_not_found(api: Api) -> None:
    before = stored_events(api)

    body = problem(api.send("audit/record-view", api.token("auditor-1", "auditor"),
                            stream_id=uuid.uuid4(), view="history", purpose="check"), 404)

    assert body["rule"] == "NotFound"
    assert stored_events(api) == before


def test_a_history_window_past_the_end_reports_the_streams_real_version(api: Api) -> None:
    case_id = api.open_case()

    history = get(api, f"/audit/{case_id}/history", from_version=999)
    inverted = get(api, f"/audit/{case_id}/history", from_version=5, to_version=2)

    assert history.status_code == 200, history.text
    assert (history.json()["version"], history.json()["entries"]) == (1, [])
    assert problem(inverted, 422)["errors"][0]["field"] == "to_version"


def test_a_wrong_method_is_a_problem_that_names_the_allowed_one(api: Api) -> None:
    response = get(api, "/commands/cases/open")

    body = problem(response, 405)
    assert body["title"] == "Method not allowed"
    assert response.headers["allow"] == "POST"


def test_a_trailing_slash_is_not_redirected(api: Api) -> None:
    response = api.client.get("/board/", headers={"Host": "evil.example",
                                                  "Authorization": f"Bearer {api.admin_token}"},
                              follow_redirects=False)

    problem(response, 404)


def post_raw(api: Api, path: str, body: bytes, content_type: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.admin_token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.post(f"/commands/{path}", content=body, headers=headers)


@pytest.mark.parametrize(("body", "at"), [(b'{"command_id": "', 15),
                                          (b'{"command_id":"x",}', 18), (b'{"a":1} xyz', 8)])
def test_malformed_json_is_named_as_such_with_where_it_breaks(
        api: Api, body: bytes, at: int) -> None:
    problem_ = problem(post_raw(api, "audit/anchor", body, "application/json"), 422)

    assert problem_["errors"][0]["field"] == "body"
    assert problem_["detail"].startswith(f"body: not valid JSON at character {at}")


def test_a_body_with_thousands_of_errors_lists_the_first_twenty(api: Api) -> None:
    body = orjson.dumps({"command_id": str(uuid.uuid4()), **{f"k{i}": 1 for i in range(5_000)}})

    problem_ = problem(post_raw(api, "audit/anchor", body, "application/json"), 422)

    assert len(problem_["errors"]) == 20
    assert problem_["more_errors"] == 5_000 - 20


@pytest.mark.parametrize("content_type", ["text/json", "text/plain", None])
def test_a_command_that_is_not_json_is_refused_as_unsupported_media(
        api: Api, content_type: str | None) -> None:
    body = orjson.dumps({"command_id": str(uuid.uuid4()), "volunteer_id": str(uuid.uuid4()),
                         "display_name": "Ira"})
    before = stored_events(api)

    problem_ = problem(post_raw(api, "volunteers/register", body, content_type), 415)

    assert "application/json" in problem_["detail"]
    assert stored_events(api) == before


def test_a_flag_naming_a_resource_that_does_not_exist_is_not_found(api: Api) -> None:
    worker = api.register("volunteer", "supervisor")
    case_id = api.taken_case(worker)
    before = stored_events(api)

    body = problem(api.send("cases/flag", worker.token, case_id=case_id, flag_id=uuid.uuid4(),
                            reason="unsafe_resource", resource_id=uuid.uuid4()), 404)

    assert body["rule"] == "NotFound"
    assert stored_events(api) == before


@pytest.mark.parametrize(("intake", "field"), [
    ({**INTAKE, "adults": True}, "adults"), ({**INTAKE, "pets": 1.5}, "pets"),
    ({**INTAKE, "adults": "3"}, "adults"), ({**INTAKE, "safe_now": 1}, "safe_now"),
    ({**INTAKE, "needs_food": "yes"}, "needs_food"),
    ({**INTAKE, "children_ages": [4, "9"]}, "children_ages")])
def test_a_number_or_a_yes_no_answer_of_the_wrong_json_type_is_refused_not_coerced(
        api: Api, intake: dict[str, Any], field: str) -> None:
    before = stored_events(api)

    body = problem(api.send("cases/open", api.admin_token, case_id=uuid.uuid4(),
                            person_id=uuid.uuid4(), intake=intake), 422)

    assert field in body["errors"][0]["field"]
    assert stored_events(api) == before


@pytest.mark.parametrize("minutes", [True, 30.0, "30"])
def test_training_minutes_must_be_a_json_integer(api: Api, minutes: Any) -> None:
    volunteer_id = uuid.uuid4()
    api.accepted("volunteers/register", api.admin_token, volunteer_id=volunteer_id,
                 display_name="Ira")

    body = problem(api.send("volunteers/log-training", api.admin_token,
                            volunteer_id=volunteer_id, minutes=minutes, topic="triage"), 422)

    assert body["errors"][0]["field"].endswith("minutes")
    api.accepted("volunteers/log-training", api.admin_token, volunteer_id=volunteer_id,
                 minutes=30, topic="triage")


@pytest.mark.parametrize(("template", "key"), [
    (b'{"command_id": "%s", "volunteer_id": "%s", "display_name": "Ira", '
     b'"display_name": "Someone Else"}', "display_name"),
    (b'{"command_id": "%s", "volunteer_id": "%s", "display_name": "Ira", '
     b'"languages": ["uk"], "command_id": "ffffffff-ffff-4fff-8fff-ffffffffffff"}',
     "command_id")])
def test_a_key_named_twice_in_a_command_is_refused_naming_it(
        api: Api, template: bytes, key: str) -> None:
    body = template % (str(uuid.uuid4()).encode(), str(uuid.uuid4()).encode())
    before = stored_events(api)

    problem_ = problem(post_raw(api, "volunteers/register", body, "application/json"), 422)

    assert problem_["errors"][0] == {"field": "body", "rule": "repeated_key", "message": (
        f"the key '{key}' appears more than once in one object; send each key once")}
    assert stored_events(api) == before


def test_a_key_named_twice_inside_a_nested_object_is_refused(api: Api) -> None:
    intake = orjson.dumps(INTAKE)[:-1] + b', "region": "Lviv"}'
    body = b'{"command_id": "%s", "case_id": "%s", "person_id": "%s", "intake": %s}' % (
        str(uuid.uuid4()).encode(), str(uuid.uuid4()).encode(), str(uuid.uuid4()).encode(),
        intake)
    before = stored_events(api)

    problem_ = problem(post_raw(api, "cases/open", body, "application/json"), 422)

    assert "'region' appears more than once" in problem_["detail"]
    assert stored_events(api) == before
