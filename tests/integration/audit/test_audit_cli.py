"""`corridor audit ...` on the store the settings name (the environment, as in production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
import pytest
import typer
from audit_world import (
    PostgresStore,
    SQLiteStore,
    Story,
    access_events,
    alter_the_advice,
    runtime,
    tell_a_case,
)
from typer.testing import CliRunner

from services.bootstrap import Runtime
from services.cli.audit import register

__all__ = ["runtime"]
ACTOR = "cli-auditor"


def corridor() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """corridor"""

    register(app)
    return app


class CliContract:
    @pytest.fixture
    def story(self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Story:
        settings = runtime.settings
        env = {"CORRIDOR_STORE": settings.store, "CORRIDOR_DATA_DIR": str(settings.data_dir),
               "CORRIDOR_PG_DSN": settings.pg_dsn or "",
               "CORRIDOR_SNAPSHOT_INTERVAL": str(settings.snapshot_interval),
               "CORRIDOR_AUDIT_ACTOR": ACTOR}
        if settings.master_key is not None:
            env["CORRIDOR_MASTER_KEY"] = settings.master_key.get_secret_value()
            env["CORRIDOR_AUTH_SECRET"] = "test"
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return tell_a_case(runtime)

    def cli(self, *args: Any) -> Any:
        return CliRunner().invoke(corridor(), ["audit", *map(str, args)])

    def test_replay_lists_the_events_and_the_view_is_on_record(
            self, runtime: Runtime, story: Story) -> None:
        result = self.cli("replay", story.case_id, "--purpose", "complaint 17")

        assert result.exit_code == 0, result.output
        for name in ("CaseOpened", "CaseTaken", "AdviceGiven", "CaseFlagged"):
            assert name in result.output
        viewed = [e for e in access_events(runtime, story.case_id)
                  if type(e).__name__ == "HistoryViewed"]
        assert [(e.viewer, e.purpose, e.view) for e in viewed] == [
            (ACTOR, "complaint 17", "history")]

    def test_replay_as_json_carries_the_state_after_each_event(self, story: Story) -> None:
        result = self.cli("replay", story.case_id, "--json", "--to-version", 2)

        history = orjson.loads(result.stdout)
        assert [e["state"]["status"] for e in history["entries"]] == ["unassigned", "assigned"]
        assert history["entries"][0]["state"]["personal"] == "[redacted]"

    def test_as_of_a_version_or_a_time(self, story: Story) -> None:
        by_version = orjson.loads(self.cli("as-of", story.case_id, "--version", 2).stdout)
        by_time = orjson.loads(self.cli("as-of", story.case_id, "--at",
                                        story.times["advised"].isoformat()).stdout)

        assert (by_version["version"], by_version["state"]["status"]) == (2, "assigned")
        assert by_time["version"] == 3
        assert self.cli("as-of", story.case_id).exit_code == 2
        assert self.cli("as-of", story.case_id, "--at", "yesterday").exit_code == 2

    def test_diff_prints_the_changed_fields(self, story: Story) -> None:
        result = self.cli("diff", story.case_id, "--from", 1, "--to", 2)

        assert result.exit_code == 0, result.output
        assert "status: unassigned -> assigned" in result.stdout

    def test_resources_show_the_verification_at_the_time_of_use(self, story: Story) -> None:
        result = self.cli("resources", story.case_id)

        assert result.exit_code == 0, result.output
        assert "verified" in result.stdout and "unsafe" in result.stdout

    def test_verify_passes_until_a_byte_is_changed(self, runtime: Runtime,
                                                   story: Story) -> None:
        intact = self.cli("verify")
        alter_the_advice(runtime, story)
        broken = self.cli("verify")
        one = self.cli("verify", "--stream-id", story.case_id, "--json")

        assert intact.exit_code == 0 and "intact" in intact.stdout
        assert broken.exit_code == 1
        assert f"stream {story.case_id} version 3" in broken.stdout.replace("\n", " ")
        assert one.exit_code == 1
        assert orjson.loads(one.stdout)["first_break"]["version"] == 3

    def test_replay_says_where_the_chain_is_broken(self, runtime: Runtime,
                                                   story: Story) -> None:
        intact = self.cli("replay", story.case_id)
        alter_the_advice(runtime, story)
        broken = self.cli("replay", story.case_id)

        assert "chain intact over the 5 events shown" in intact.stdout
        assert "chain BROKEN at version 3" in broken.stdout.replace("\n", " ")
        assert "(altered)" in broken.stdout

    def test_export_writes_each_format(self, story: Story, tmp_path: Path) -> None:
        for fmt in ("json", "csv", "html"):
            target = tmp_path / f"case.{fmt}"
            result = self.cli("export", story.case_id, "--format", fmt, "--output", target)
            assert result.exit_code == 0, result.output
            assert b"[redacted]" in target.read_bytes()
            assert b"Iryna" not in target.read_bytes()
        assert self.cli("export", story.case_id, "--format", "pdf").exit_code == 2

    def test_anchor_prints_the_digest_and_verify_checks_it(self, story: Story) -> None:
        anchored = self.cli("anchor")
        again = self.cli("anchor", "--to-position", 1)
        verified = self.cli("verify")

        assert anchored.exit_code == 0, anchored.output
        assert "anchored up to position" in anchored.stdout
        assert "nothing new to anchor" in again.output
        assert "1 anchors" in verified.stdout and verified.exit_code == 0

    def test_a_missing_stream_is_reported(self, story: Story) -> None:
        result = self.cli("replay", uuid4())

        assert result.exit_code == 2
        assert "NotFound" in result.output


class TestCliOnSQLite(SQLiteStore, CliContract):
    pass


class TestCliOnPostgres(PostgresStore, CliContract):
    pass
