"""What every section of a run shares: options, servers, secrets, the report being built."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.infra import Servers
from bench.report import Report
from bench.server import ApiShape
from services.auth import TokenIssuer
from services.storage.sealing import new_master_key


@dataclass(frozen=True)
class BenchConfig:
    """The options of one `corridor bench` run."""

    sections: tuple[str, ...]
    clients: tuple[int, ...] = (1, 8, 32, 64)
    duration: float = 10.0
    warmup: float = 1.0
    rebuild_events: int = 1_000_000
    store_events: int = 1_000_000
    lag_clients: int = 32
    flag_trials: int = 30
    """Recall-to-flag trials per deployment, idle and again under load."""
    flag_clients: int = 8
    """Clients of the background command load during the recall-to-flag trials."""
    out_dir: Path = Path("docs")
    keep_data: bool = False
    api: ApiShape = field(default_factory=ApiShape)
    """How the measured API is served."""
    repeats: int = 3
    """Runs of the target client level; the median run is reported, all are shown."""
    soak_minutes: float = 30.0
    """How long the soak sends its paced load."""
    soak_rate: float = 500.0
    """Commands a second the soak sends."""
    worker_events: int = 1_000_000
    """The backlog the projection workers catch up (workers section)."""

    @property
    def target_clients(self) -> int:
        """The level the throughput and p99 targets are stated for."""
        return 32 if 32 in self.clients else max(self.clients)


@dataclass
class BenchContext:
    """Shared by the sections of one run."""

    config: BenchConfig
    servers: Servers
    report: Report
    master_key: str = field(default_factory=new_master_key)
    auth_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    results: dict[str, Any] = field(default_factory=dict)
    cleanup: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    """Databases shared between sections (the large store) close with the run."""

    @property
    def issuer(self) -> TokenIssuer:
        return TokenIssuer(self.auth_secret)

    def note(self, text: str) -> None:
        """A line for "How these were measured"."""
        notes: list[str] = self.results.setdefault("notes", [])
        if text not in notes:
            notes.append(text)

    def shared_machine(self, cores: dict[str, float]) -> None:
        """Remember the most CPU other processes took during any measurement."""
        busiest = max(self.results.get("other_processes_max", 0.0), cores["other_processes"])
        self.results["other_processes_max"] = busiest

    def api_env(self, pg_dsn: str, *, kafka: str | None = None,
                **settings: str) -> dict[str, str]:
        """CORRIDOR_* settings for an API (or worker) process on this run's database."""
        env = {"CORRIDOR_STORE": "postgres", "CORRIDOR_PG_DSN": pg_dsn,
               "CORRIDOR_MASTER_KEY": self.master_key, "CORRIDOR_AUTH_SECRET": self.auth_secret,
               "CORRIDOR_KAFKA_BOOTSTRAP": kafka or ""}
        env.update({f"CORRIDOR_{k.upper()}": v for k, v in settings.items()})
        return env
