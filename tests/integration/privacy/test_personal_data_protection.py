"""Personal data never lies in plaintext at rest, is shown only on need-to-know, every
disclosure is recorded, and erasure makes it unreadable everywhere while history replays."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi.testclient import TestClient

from domain.access import access_log_id
from services.api.app import create_app
from services.audit.verify import verify_store
from services.settings import Settings
from services.storage.sealing import new_master_key

SECRETS = {
    "name": "Olena Kovalenko-Zx81",
    "contact_handle": "@olena_hidden_4471",
    "exact_location": "Saltivka, block 7, basement 3",
    "health_details": "insulin-dependent, 2 doses left",
}
AUTH_SECRET = "privacy-test-secret-0123456789abcdef"
NOTE = "hiding with neighbours, door code 5519"
JOURNEY = {  # free text typed on the way: each marker appears nowhere else
    "advice": "stay in the village ZZ-UNIQUE-ADVICE",
    "transport": "ZZ-UNIQUE-TRANSPORT minibus, driver Petro +380 50 111 2233",
    "flag_reason": "ZZ-UNIQUE-FLAG-REASON refuses to move",
    "flag_detail": "ZZ-UNIQUE-FLAG-DETAIL her son hides at Lesi Ukrainky 5",
    "cleared": "ZZ-UNIQUE-CLEARED talked her round",
    "dissolved": "ZZ-UNIQUE-DISSOLVED she is calmer",
    "cannot_leave": "ZZ-UNIQUE-CANNOT-LEAVE mother bedridden",
    "checkpoint": "ZZ-UNIQUE-CHECKPOINT Zhuravlivka",
    "stuck_place": "ZZ-UNIQUE-STUCK-PLACE Chuhuiv bridge",
    "stuck_reason": "ZZ-UNIQUE-STUCK-REASON the bridge is blown",
    "returned": "ZZ-UNIQUE-RETURNED back to the village",
    "crossing": "ZZ-UNIQUE-CROSSING Shehyni",
    "arrival": "ZZ-UNIQUE-ARRIVAL Przemysl, Mickiewicza 3",
    "reopened": "ZZ-UNIQUE-REOPENED needs housing",
    "released": "ZZ-UNIQUE-RELEASED off shift, Olena's cousin takes over",
}
MARKER = "ZZ-UNIQUE"


def _ids() -> dict[str, uuid.UUID]:
    return {k: uuid.uuid4() for k in ("admin", "volunteer", "other", "case", "person")}


class Scenario:
    """Drives the API as the intake bot, a volunteer and a supervisor would."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.runtime: Any = client.app.state.runtime  # type: ignore[attr-defined]
        self.ids = _ids()
        self.admin = self.token("admin", ["admin"])

    def token(self, actor: str, roles: list[str]) -> str:
        return str(self.runtime.tokens.issue(actor, roles))

    def send(self, path: str, token: str, **body: Any) -> dict[str, Any]:
        payload = {"command_id": str(uuid.uuid4()), **body}
        reply = self.client.post(f"/commands/{path}", json=payload,
                                 headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.json()
        return dict(reply.json())

    def volunteer(self, key: str, roles: tuple[str, ...] = ("volunteer",)) -> str:
        vid = str(self.ids.setdefault(key, uuid.uuid4()))
        self.send("volunteers/register", self.admin, volunteer_id=vid, display_name=key,
                  roles=list(roles))
        self.send("volunteers/log-training", self.admin, volunteer_id=vid, minutes=300,
                  topic="safety")
        return self.token(vid, list(roles))

    def verified_transport(self, reporter: str) -> str:
        resource_id = str(uuid.uuid4())
        self.send("resources/report", reporter, resource_id=resource_id, kind="transport",
                  region="Kharkiv", place="Kharkiv bus station", details="minibus")
        self.send("resources/verify", self.volunteer("checker", ("fact_checker",)),
                  resource_id=resource_id)
        return resource_id

    def record_journey_with_secrets(self, owner: str) -> None:
        """Every kind of free text a case records, each with its marker (JOURNEY)."""
        case, said, flag = str(self.ids["case"]), JOURNEY, str(uuid.uuid4())
        self.volunteer("psychologist", ("psychologist",))
        steps: list[tuple[str, dict[str, Any]]] = [
            ("give-advice", {"text": said["advice"]}),
            ("arrange-transport", {"resource_ids": [self.verified_transport(owner)],
                                   "description": said["transport"]}),
            ("flag", {"flag_id": flag, "reason": said["flag_reason"],
                      "detail": said["flag_detail"]}),
            ("clear-flag", {"flag_id": flag, "reason": said["cleared"]}),
            ("form-support-group", {"psychologist_id": str(self.ids["psychologist"])}),
            ("dissolve-support-group", {"reason": said["dissolved"]}),
            ("record-cannot-leave", {"reason": said["cannot_leave"]}),
            ("record-departure", {}),
            ("record-checkpoint", {"checkpoint": said["checkpoint"]}),
            ("record-stuck", {"place": said["stuck_place"], "reason": said["stuck_reason"]}),
            ("record-return", {"reason": said["returned"]}),
            ("record-departure", {}),
            ("record-border-crossing", {"crossing": said["crossing"]}),
            ("record-arrival", {"place": said["arrival"]}),
            ("close", {"outcome": "evacuated"}),
            ("reopen", {"reason": said["reopened"]}),
            ("release", {"reason": said["released"]}),
            ("take", {}),
        ]
        for path, body in steps:
            self.send(f"cases/{path}", owner, case_id=case, **body)

    def open_case_with_secrets(self) -> str:
        self.send("cases/open", self.token("intake-bot", ["intake"]),
                  case_id=str(self.ids["case"]), person_id=str(self.ids["person"]),
                  intake={"safe_now": False, "region": "Kharkiv", "destination": "Lviv",
                          "contact_channel": "telegram", "children_ages": [3], **SECRETS})
        owner = self.volunteer("volunteer")
        self.send("cases/take", owner, case_id=str(self.ids["case"]))
        self.send("cases/add-note", owner, case_id=str(self.ids["case"]), text=NOTE)
        return owner

    def read(self, token: str) -> dict[str, Any]:
        reply = self.client.get(f"/cases/{self.ids['case']}",
                                headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.json()
        return dict(reply.json())

    def get(self, path: str, token: str, **params: Any) -> str:
        reply = self.client.get(path, params=params,
                                headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.text
        return reply.text

    def read_models_caught_up(self) -> str:
        """The board and the audit trail once they hold every stored event."""
        head = self.runtime.app.recorder.max_notification_id()
        return "\n".join(self.get(path, self.admin, min_position=head, wait_ms=20_000)
                         for path in ("/board", "/audit"))

    def audit_views(self, auditor: str) -> str:
        """History, as-of and the three exports of the case, as a granted auditor reads them."""
        case = self.ids["case"]
        return "\n".join([
            self.get(f"/audit/{case}/history", auditor),
            self.get(f"/audit/{case}/as-of", auditor, version=27),
            *(self.get(f"/audit/{case}/export", auditor, format=f)
              for f in ("json", "csv", "html"))])


def _plaintexts() -> list[bytes]:
    return [v.encode() for v in [*SECRETS.values(), NOTE]]


def _leaked(found: bytes | str) -> list[str]:
    """The JOURNEY markers in `found` (none, unless free text leaked in plaintext)."""
    text = found.decode(errors="replace") if isinstance(found, bytes) else found
    return sorted(set(re.findall(r"ZZ-UNIQUE-[A-Z]+(?:-[A-Z]+)*", text)))


class PersonalDataContract:
    """The same behaviour on every store; subclasses say which store and how to scan it."""

    settings: Settings

    def raw_store_bytes(self) -> bytes:
        raise NotImplementedError

    @pytest.fixture
    def scenario(self, caplog: pytest.LogCaptureFixture) -> Iterator[Scenario]:
        caplog.set_level(logging.DEBUG)
        with TestClient(create_app(self.settings)) as client:
            yield Scenario(client)

    def test_no_personal_value_is_stored_in_plaintext(self, scenario: Scenario) -> None:
        scenario.open_case_with_secrets()
        raw = self.raw_store_bytes()
        assert b"Kharkiv" in raw  # the scan really reads the stored events
        for secret in _plaintexts():
            assert secret not in raw

    def test_no_free_text_of_the_journey_is_stored_or_projected_in_plaintext(
            self, scenario: Scenario) -> None:
        owner = scenario.open_case_with_secrets()
        scenario.record_journey_with_secrets(owner)
        read_models = scenario.read_models_caught_up()
        raw = self.raw_store_bytes()
        assert b"Kharkiv bus station" in raw  # the scan reads the stored events...
        assert b"taken by volunteer" in raw  # ...and the read models (the audit trail's)
        assert _leaked(raw) == []
        assert "taken by volunteer" in read_models
        assert _leaked(read_models) == []

    def test_the_assignee_reads_the_journeys_free_text_a_stranger_does_not(
            self, scenario: Scenario) -> None:
        owner = scenario.open_case_with_secrets()
        scenario.record_journey_with_secrets(owner)
        journal = {e["event"]: e["personal"] for e in scenario.read(owner)["journal"]}
        assert journal["AdviceGiven"] == {"text": JOURNEY["advice"]}
        assert journal["Stuck"] == {"place": JOURNEY["stuck_place"],
                                    "reason": JOURNEY["stuck_reason"]}
        assert journal["CaseFlagged"] == {"reason": JOURNEY["flag_reason"],
                                          "detail": JOURNEY["flag_detail"]}
        stranger = scenario.read(scenario.volunteer("other"))
        assert {e["personal"] for e in stranger["journal"]} == {"[redacted]"}
        assert stranger["stage"] == "arrived" and _leaked(str(stranger)) == []

    def test_erasure_erases_the_journeys_free_text_on_every_read_path(
            self, scenario: Scenario) -> None:
        owner = scenario.open_case_with_secrets()
        scenario.record_journey_with_secrets(owner)
        auditor = scenario.token("auditor-1", ["auditor"])
        scenario.send("audit/grant", scenario.admin, stream_id=str(scenario.ids["case"]),
                      auditor="auditor-1", purpose="complaint 17")
        shown = _leaked(scenario.audit_views(auditor))
        assert set(_leaked(str(JOURNEY))) <= set(shown)  # revealed to the granted auditor
        scenario.send("cases/erase-personal-data", scenario.admin,
                      case_id=str(scenario.ids["case"]))
        detail = scenario.read(owner)
        assert {e["personal"] for e in detail["journal"]} == {"[erased]"}
        audits = scenario.audit_views(auditor)
        assert _leaked(audits) == [] and "[erased]" in audits

    def test_logs_carry_no_personal_value(self, scenario: Scenario,
                                          caplog: pytest.LogCaptureFixture) -> None:
        owner = scenario.open_case_with_secrets()
        scenario.record_journey_with_secrets(owner)
        scenario.read(owner)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for secret in _plaintexts():
            assert secret.decode() not in logged
        assert _leaked(logged) == []

    def test_assignee_sees_the_person_and_the_view_is_recorded(self, scenario: Scenario) -> None:
        owner = scenario.open_case_with_secrets()
        detail = scenario.read(owner)
        assert detail["disclosure"] == "assignee"
        assert detail["personal"]["name"] == SECRETS["name"]
        assert detail["notes"] == [{"text": NOTE}]
        log = scenario.runtime.app.repository.get(access_log_id(scenario.ids["case"]))
        assert log.personal_data_views == 1

    def test_volunteer_not_on_the_case_sees_it_redacted(self, scenario: Scenario) -> None:
        scenario.open_case_with_secrets()
        stranger = scenario.volunteer("other")
        detail = scenario.read(stranger)
        assert detail["disclosure"] is None
        assert detail["personal"] == "[redacted]"
        assert detail["notes"] == ["[redacted]"]
        assert detail["region"] == "Kharkiv"

    def test_auditor_without_a_grant_sees_it_redacted(self, scenario: Scenario) -> None:
        scenario.open_case_with_secrets()
        detail = scenario.read(scenario.token("auditor-1", ["auditor"]))
        assert detail["personal"] == "[redacted]"

    def test_erasure_makes_the_data_unreadable_and_history_still_replays(
            self, scenario: Scenario) -> None:
        scenario.open_case_with_secrets()
        scenario.send("cases/erase-personal-data", scenario.admin,
                      case_id=str(scenario.ids["case"]))
        supervisor = scenario.token(str(uuid.uuid4()), ["supervisor"])
        detail = scenario.read(supervisor)
        assert detail["personal"] == "[erased]"
        assert detail["notes"] == ["[erased]"]
        app = scenario.runtime.app
        assert app.keys.key_for(scenario.ids["person"], create=False) is None
        app.repository.cache.clear()
        replayed = app.repository.get(scenario.ids["case"])
        assert replayed.personal.erased
        events = list(app.events.get(scenario.ids["case"]))
        opened = events[0]
        assert opened.personal.sealed  # the ciphertext is still there, unchanged...
        assert app.sealer.reveal(opened.personal) is None  # ...and can never be read again
        report = verify_store(app)  # the hash chain still verifies after erasure
        assert report.ok and report.events_checked >= 5


class TestOnSQLite(PersonalDataContract):
    @pytest.fixture(autouse=True)
    def _store(self, tmp_path: Path) -> None:
        self.settings = Settings(store="sqlite", data_dir=tmp_path, reactions_in_process=False)
        self.data_dir = tmp_path

    def raw_store_bytes(self) -> bytes:
        """Every file of the data directory: events, snapshots, keys and read models."""
        return b"".join(p.read_bytes() for p in self.data_dir.glob("*") if p.is_file())


@pytest.mark.postgres
class TestOnPostgreSQL(PersonalDataContract):
    @pytest.fixture(autouse=True)
    def _store(self, fresh_pg_database: str) -> None:
        self.dsn = fresh_pg_database
        self.settings = Settings(store="postgres", pg_dsn=fresh_pg_database,
                                 master_key=new_master_key(), auth_secret=AUTH_SECRET,
                                 reactions_in_process=False)

    def raw_store_bytes(self) -> bytes:
        """Every row of every table (events, snapshots, keys, receipts, read models); bytea
        columns (the events' state) as their bytes."""
        with psycopg.connect(self.dsn) as conn:
            tables = conn.execute(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
                "FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND "
                "table_schema NOT IN ('pg_catalog', 'information_schema')").fetchall()
            rows = [row for (table,) in tables
                    for row in conn.execute(f"SELECT * FROM {table}").fetchall()]
        return b"\n".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                          for row in rows for v in row)


async def _topic_bytes(bootstrap: str, topic: str, expected: int, seconds: float) -> bytes:
    """Every key, value and header on the topic, once `expected` messages have arrived."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        seen: list[bytes] = []
        count, deadline = 0, time.monotonic() + seconds
        while count < expected and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for m in messages:
                    count += 1
                    seen += [m.key or b"", m.value or b""]
                    seen += [value for _, value in m.headers]
        assert count >= expected, f"only {count} of {expected} events reached {topic}"
        return b"\n".join(seen)
    finally:
        await consumer.stop()


@pytest.mark.postgres
@pytest.mark.kafka
def test_events_published_to_kafka_carry_no_personal_value(
        fresh_pg_database: str, kafka_bootstrap: str, kafka_topic_prefix: str) -> None:
    settings = Settings(store="postgres", pg_dsn=fresh_pg_database, master_key=new_master_key(),
                        auth_secret=AUTH_SECRET, reactions_in_process=False,
                        kafka_bootstrap=kafka_bootstrap, kafka_topic_prefix=kafka_topic_prefix)
    with TestClient(create_app(settings)) as client:
        scenario = Scenario(client)
        scenario.record_journey_with_secrets(scenario.open_case_with_secrets())
        stored = scenario.runtime.app.recorder.max_notification_id()
        published = asyncio.run(_topic_bytes(kafka_bootstrap, settings.topic("events"),
                                             stored, 60))
    assert str(scenario.ids["case"]).encode() in published  # the scan reads the real messages
    assert b"Kharkiv bus station" in published
    for secret in _plaintexts():
        assert secret not in published
    assert _leaked(published) == []
