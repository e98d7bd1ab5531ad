"""Rows read back from PostgreSQL (uuid, aware datetime, bool) and from SQLite (text, ISO
text, 0/1) compare equal once normalised, and in the same order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from projections.schema import BOOL, ID, INT, TIME, Column, Table, normalised

TABLE = Table("t", (Column("id", ID), Column("at", TIME), Column("ok", BOOL),
                    Column("n", INT)), key=("id",))
A = UUID("00000000-0000-4000-8000-000000000001")
B = UUID("00000000-0000-4000-8000-000000000002")
AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_row_from_either_store_compares_equal() -> None:
    postgres = [{"id": B, "at": AT, "ok": True, "n": 2},
                {"id": A, "at": AT.astimezone(timezone(timedelta(hours=2))), "ok": False,
                 "n": 1}]
    sqlite = [{"id": str(A), "at": AT.isoformat(), "ok": 0, "n": 1},
              {"id": str(B), "at": "2026-12-07T14:00:00+02:00", "ok": 1, "n": 2}]

    assert normalised(TABLE, postgres) == normalised(TABLE, sqlite)


def test_a_different_value_does_not_compare_equal() -> None:
    one = [{"id": A, "at": AT, "ok": True, "n": 1}]
    later = [{"id": str(A), "at": (AT + timedelta(seconds=1)).isoformat(), "ok": 1, "n": 1}]

    assert normalised(TABLE, one) != normalised(TABLE, later)


def test_missing_values_sort_last() -> None:
    rows = [{"id": None, "at": None, "ok": None, "n": None},
            {"id": A, "at": AT, "ok": True, "n": 1}]

    assert normalised(TABLE, rows)[-1] == (None, None, None, None)
