"""Shared e2e fixtures: the service over HTTP on SQLite or PostgreSQL, tokens for each role,
and registered, trained volunteers.

A test class picks its backend by defining a `settings` fixture that returns
`sqlite_settings` or `postgres_settings`; everything else here builds on `settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import command_api_driver as driver
import pytest
from command_api_driver import Api, Member

from services.settings import Settings


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """The embedded SQLite store in this test's own folder."""
    return driver.sqlite_settings(tmp_path / "data")


@pytest.fixture
def postgres_settings(fresh_pg_database: str) -> Settings:
    """A brand-new PostgreSQL database with its own master key."""
    return driver.postgres_settings(fresh_pg_database)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The service running on the test's `settings`, driven over HTTP."""
    with driver.running(settings) as started:
        yield started


@pytest.fixture
def admin_token(api: Api) -> str:
    return api.admin_token


@pytest.fixture
def register_volunteer(api: Api) -> Callable[..., Member]:
    """register_volunteer(*roles, trained=True) -> Member."""
    return api.register


@pytest.fixture
def volunteer(api: Api) -> Member:
    """A trained volunteer in good standing, with a volunteer's token."""
    return api.register("volunteer")


@pytest.fixture
def supervisor(api: Api) -> Member:
    """A trained supervisor (also a volunteer), with a token for both roles."""
    return api.register("supervisor", "volunteer")


@pytest.fixture
def fact_checker(api: Api) -> Member:
    """A fact-checker, with a fact-checker's token."""
    return api.register("fact_checker")
