"""Where this service's read models live and where rebuilds read its events, from the
settings: the embedded default keeps read models in their own SQLite file beside the event
store; with PostgreSQL they live in the event store's database and schema."""

from __future__ import annotations

from projections.config import SourceConfig, StoreConfig
from services.settings import Settings
from services.storage.application import CorridorApplication

READ_MODELS_FILE = "readmodels.sqlite"


def store_config(settings: Settings) -> StoreConfig:
    """The read-model database of these settings."""
    if settings.store == "postgres":
        return StoreConfig("postgres", _dsn(settings), settings.pg_schema)
    return StoreConfig("sqlite", str(settings.data_dir / READ_MODELS_FILE),
                       shared=several_processes(settings))


def several_processes(settings: Settings) -> bool:
    """Whether this process is one of `corridor serve`'s several (a writer process, HTTP
    workers, the supervisor), which learn of each other's commits through the store."""
    return bool(settings.writer_process or settings.writer_socket)


def source_config(settings: Settings) -> SourceConfig:
    """The event store's table, read directly by rebuilds."""
    if settings.store == "postgres":
        return SourceConfig("postgres", _dsn(settings), events_table(settings))
    return SourceConfig("sqlite", str(settings.sqlite_path), events_table(settings))


def events_table(settings: Settings) -> str:
    """The stored events table eventsourcing creates for corridor's application (named
    after it on PostgreSQL; SQLite keeps eventsourcing's "stored_events")."""
    if settings.store == "postgres":
        return f'"{settings.pg_schema}".{CorridorApplication.name.lower()}_events'
    return "stored_events"


def events_channel(settings: Settings) -> str | None:
    """The channel eventsourcing's PostgreSQL recorder NOTIFYs in every insert transaction
    (its events table's name without the schema); None on SQLite, which notifies no one."""
    if settings.store != "postgres":
        return None
    return f"{CorridorApplication.name.lower()}_events"


def _dsn(settings: Settings) -> str:
    if not settings.pg_dsn:
        raise ValueError("CORRIDOR_PG_DSN must be set when CORRIDOR_STORE=postgres")
    return settings.pg_dsn
