"""One typed settings object, read from CORRIDOR_* environment variables (pydantic-settings)."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Urgency = Literal["critical", "high", "medium", "low"]
DEFAULT_CONTACT_HOURS: dict[Urgency, float] = {"critical": 1.0, "high": 4.0, "medium": 24.0,
                                               "low": 72.0}


class Settings(BaseSettings):
    """Everything that varies between the embedded default, tests and production."""

    model_config = SettingsConfigDict(env_prefix="CORRIDOR_", extra="ignore")

    store: Literal["sqlite", "postgres"] = Field(default="sqlite", description="`sqlite` "
                                                 "(embedded) or `postgres`")
    data_dir: Path = Field(default=Path("data"), description="the SQLite file, and on the "
                           "embedded default the generated secrets")
    pg_dsn: str | None = Field(default=None, description="`postgresql://user:pass@host:port/"
                               "db`")
    pg_schema: str = Field(default="public", description="the PostgreSQL schema of the "
                           "event store and the read models")
    pg_pool_size: int = Field(default=8, ge=1, description="PostgreSQL connections each "
                              "process keeps for the store and the read models")

    kafka_bootstrap: str | None = Field(default=None, description="Kafka bootstrap "
                                        "servers; unset, nothing is sent to Kafka")
    kafka_topic_prefix: str = Field(default="corridor.", description="topic names: "
                                    "`<prefix>events`, `<prefix>commands`, ...")
    kafka_event_partitions: int = Field(default=6, ge=1, description="partitions of the "
                                        "events topic when corridor creates it (events are "
                                        "keyed by stream: a stream's order holds in any "
                                        "number)")
    kafka_command_partitions: int = Field(default=3, ge=1, description="partitions of the "
                                          "commands topic when corridor creates it")

    master_key: SecretStr | None = Field(default=None, description="wraps the per-person "
                                         "data keys (`corridor keygen`); generated on the "
                                         "embedded default")
    master_key_version: int = Field(default=1, ge=1, description="the version of "
                                    "CORRIDOR_MASTER_KEY, raised at each rotation")
    previous_master_key: SecretStr | None = Field(
        default=None, description="the master key before the last rotation, while re-wrapping")
    auth_secret: SecretStr | None = Field(default=None, description="signs access tokens; "
                                          "generated on the embedded default")
    token_ttl_hours: float = Field(default=12.0, gt=0, description="how long a token from "
                                   "`corridor token` is valid")
    token_issuer: str = Field(default="corridor", min_length=1, description="the `iss` "
                              "every token must carry (`corridor token` writes it)")
    token_audience: str = Field(default="corridor", min_length=1, description="the `aud` "
                                "every token must name (`corridor token` writes it)")

    host: str = Field(default="127.0.0.1", description="the address `corridor serve` "
                      "listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="the port `corridor serve` "
                      "listens on")
    workers: int = Field(default=1, ge=1, le=64, description="HTTP worker processes of "
                         "`corridor serve`; above 1 they send commands to one writer process")
    writer_process: bool | None = Field(default=None, description="`corridor serve` "
                                        "executes commands in a writer process of its own, "
                                        "beside the HTTP worker(s) and a background process "
                                        "(implied by more than one worker); unset: on a "
                                        "machine of two cores or more")
    create_tables: bool = Field(default=True, description="create the event store's tables "
                                "and functions at start; `serve --workers` turns it off in "
                                "the processes it starts after the writer (concurrent DDL "
                                "fails in PostgreSQL with 'tuple concurrently updated')")
    writer_socket: str | None = Field(default=None, description="set by `corridor serve "
                                      "--workers N` for its HTTP workers: the writer "
                                      "process's Unix socket")

    group_commit_max: int = Field(default=512, ge=1, description="most commands the "
                                  "writer commits in one transaction (group commit)")
    command_wait_seconds: float = Field(default=5.0, gt=0, le=300, description="longest "
                                        "an HTTP command waits for the writer; then it gets "
                                        "a 503 problem with Retry-After (the store or the "
                                        "writer is down or slow), and a retry with the same "
                                        "command id returns the outcome if it was stored")
    command_queue_max: int = Field(default=4096, ge=1, description="commands that may wait "
                                   "for the writer (or, in an HTTP worker, for the writer "
                                   "process); beyond it a command gets a 503 problem with "
                                   "Retry-After at once (load shedding)")
    pg_connect_timeout_seconds: int = Field(default=5, ge=1, description="longest the "
                                              "event store waits for a pooled PostgreSQL "
                                              "connection before failing the request (a "
                                              "503 store_unavailable)")
    aggregate_cache_size: int = Field(default=10_000, ge=0, description="aggregates the "
                                      "writer keeps in memory (cases, volunteers, resources "
                                      "in use). A batch reads the ones it misses in one round "
                                      "trip, so a miss is cheap, while a larger cache costs "
                                      "the writer process more memory and gains little "
                                      "speed")
    snapshot_interval: int = Field(default=50, ge=2, description="an aggregate is "
                                   "snapshotted every this many events")
    projections_in_process: bool = Field(default=True, description="`corridor serve` keeps "
                                         "the read models itself; off when `corridor "
                                         "project` workers do")
    reactions_in_process: bool = Field(default=True, description="`corridor serve` runs "
                                       "the policies and the tick itself; off when another "
                                       "process does")
    expiry_tick_seconds: float = Field(default=30.0, gt=0, description="how often the tick "
                                       "expires verifications, lapses seat holds and flags "
                                       "closing windows")
    window_lead_minutes: float = Field(default=60.0, gt=0, le=24 * 60, description="how "
                                       "long before an opening window (a corridor, a "
                                       "checkpoint, a curfew) closes the cases relying on it "
                                       "are flagged; again once it has closed")
    hold_minutes: int = Field(default=30, ge=1, le=24 * 60, description="how long seats "
                              "held on a transport stay held unless confirmed, for a hold "
                              "that does not name its own hold_minutes (never past the "
                              "transport's departure window); unconfirmed, they lapse")
    contact_interval_hours: dict[Urgency, PositiveFloat] = Field(
        default_factory=lambda: dict(DEFAULT_CONTACT_HOURS),
        description="how long an active case may go without contact before the tick marks "
        "it contact overdue, in hours by urgency, as JSON (e.g. `{\"critical\": 0.5}`; "
        "urgencies not named keep 1 / 4 / 24 / 72); after three intervals supervisors see "
        "possible lost contact")
    phone_region: str = Field(default="UA", min_length=2, max_length=2, description="the "
                              "country (ISO 3166 code) a phone number without a country "
                              "code is read in, for finding the same person twice")
    clock: Literal["system", "told"] = Field(default="system", description="`told` lets "
                                             "an admin's clock tick (POST /commands/clock/"
                                             "tick) move the business time forward, for "
                                             "simulations (`corridor simulate`); `system` "
                                             "refuses a tick ahead of the system clock")
    reconnect_give_up_seconds: float | None = Field(
        default=None, gt=0, description="a projection worker (`corridor project --from "
        "kafka`) that has failed this long in a row (database or broker down) exits "
        "non-zero, for its supervisor to restart; unset, it keeps reconnecting")
    max_body_bytes: int = Field(default=1_048_576, ge=1_024, description="largest request "
                                "body the API reads; a larger one is refused with 413 "
                                "before it is read in full")
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600, description="longest "
                                        "the API waits for a command's body to arrive; a "
                                        "slower one gets a 408 problem and the connection is "
                                        "closed (a client trickling bytes holds no worker)")
    log_json: bool = Field(default=False, description="logs as JSON lines (for a log "
                           "collector) instead of text")
    tune_gc: bool = Field(default=False, description="freeze start-up objects and collect "
                          "less often; `corridor serve` turns it on")

    @cached_property
    def sqlite_path(self) -> Path:
        return self.data_dir / "corridor.sqlite"

    @property
    def uses_kafka(self) -> bool:
        return bool(self.kafka_bootstrap)

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"


def settings_table() -> str:
    """Every setting as a Markdown table (variable, default, meaning): the README's
    configuration section is this table, and `corridor settings` prints it."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "" if default is None else str(default).lower() if isinstance(default, bool) \
            else json.dumps(default) if isinstance(default, dict) else str(default)
        meaning = " ".join((field.description or "").split())
        rows.append(f"| `CORRIDOR_{name.upper()}` | {f'`{shown}`' if shown else ''} "
                    f"| {meaning} |")
    return "\n".join(rows) + "\n"
