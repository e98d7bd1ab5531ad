"""Personal data never lies in plaintext at rest, is shown only on need-to-know, every
disclosure is recorded, and erasure makes it unreadable everywhere while history replays."""

from __future__ import annotations

import asyncio
import logging
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
from services.sealing import new_master_key
from services.settings import Settings

SECRETS = {
    "name": "Olena Kovalenko-Zx81",
    "contact_handle": "@olena_hidden_4471",
    "exact_location": "Saltivka, block 7, basement 3",
    "health_details": "insulin-dependent, 2 doses left",
}
AUTH_SECRET = "privacy-test-secret-0123456789abcdef"
NOTE = "hiding with neighbours, door code 5519"


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

    def volunteer(self, key: str) -> str:
        vid = str(self.ids[key])
        self.send("volunteers/register", self.admin, volunteer_id=vid, display_name=key)
        self.send("volunteers/log-training", self.admin, volunteer_id=vid, minutes=300,
                  topic="safety")
        return self.token(vid, ["volunteer"])

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


def _plaintexts() -> list[bytes]:
    return [v.encode() for v in [*SECRETS.values(), NOTE]]


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

    def test_logs_carry_no_personal_value(self, scenario: Scenario,
                                          caplog: pytest.LogCaptureFixture) -> None:
        owner = scenario.open_case_with_secrets()
        scenario.read(owner)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for secret in _plaintexts():
            assert secret.decode() not in logged

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
        return b"".join(p.read_bytes() for p in self.data_dir.glob("corridor.sqlite*"))


@pytest.mark.postgres
class TestOnPostgreSQL(PersonalDataContract):
    @pytest.fixture(autouse=True)
    def _store(self, fresh_pg_database: str) -> None:
        self.dsn = fresh_pg_database
        self.settings = Settings(store="postgres", pg_dsn=fresh_pg_database,
                                 master_key=new_master_key(), auth_secret=AUTH_SECRET,
                                 reactions_in_process=False)

    def raw_store_bytes(self) -> bytes:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute("SELECT state FROM corridor_events UNION ALL "
                                "SELECT state FROM corridor_snapshots").fetchall()
            keys = conn.execute("SELECT wrapped FROM data_keys").fetchall()
        return b"".join(bytes(r[0]) for r in rows + keys)


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
        scenario.open_case_with_secrets()
        stored = scenario.runtime.app.recorder.max_notification_id()
        published = asyncio.run(_topic_bytes(kafka_bootstrap, settings.topic("events"),
                                             stored, 60))
    assert str(scenario.ids["case"]).encode() in published  # the scan reads the real messages
    for secret in _plaintexts():
        assert secret not in published
