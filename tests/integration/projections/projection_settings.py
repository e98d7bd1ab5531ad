"""Settings for projection integration tests (a module of its own: test files import it)."""

from __future__ import annotations

from pathlib import Path

from services.settings import Settings


def pg_settings(dsn: str, data_dir: Path) -> Settings:
    """The PostgreSQL store on a test database, projections in-process, no reactions."""
    return Settings(store="postgres", pg_dsn=dsn, data_dir=data_dir,
                    projections_in_process=True, reactions_in_process=False)
