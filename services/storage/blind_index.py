"""The blind index: keyed hashes of what identifies a person (a phone number, a messenger
handle, a name with a birth year), stored beside each case so that the same person asking
twice is found, without the plaintext ever being stored.

- The key is a key of its own: a random 256-bit data key of the reserved subject
  BLIND_INDEX_SUBJECT in `data_keys`, wrapped by the master key like every data key (so
  `corridor rotate-master-key` re-wraps it), never the master key itself.
- HMAC-SHA256 from the standard library (`hmac.digest`): a keyed hash is exactly what HMAC
  is for; CPython's runs in OpenSSL's C code in one call, and needs nothing the service
  does not already carry. A plain hash would not do: phone numbers are few enough to be
  hashed all, so without the key anyone with a copy of the table could read them back.
- Entries live in the store's `blind_index` table, never in events, snapshots, Kafka or
  read models: they are written in the transaction that stores the case's opening, and an
  erasure deletes the person's entries in the transaction that deletes their data key
  (services.storage.keystore), so nothing matches an erased person again.
- Phone numbers are parsed with `phonenumbers` (Google's libphonenumber metadata): a
  national number with its trunk prefix (067...), one with 00 or + and spaces, dashes or
  brackets all give one E.164 form; numbers without a country code are read as the
  network's region (CORRIDOR_PHONE_REGION).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import phonenumbers

from domain.duplicates import (
    IdentifierKind,
    looks_like_phone,
    normalise_handle,
    normalise_name,
)
from services.storage.sealing import KeyRing

BLIND_INDEX_SUBJECT = uuid5(NAMESPACE_URL, "urn:corridor:blind-index-key")
"""The `data_keys` row holding the blind index's key (never a person: never erased)."""

Entry = tuple[UUID, UUID, str, bytes]
"""(data subject, case, kind, digest): one row of `blind_index`."""


def normalise_phone(text: str, region: str) -> str | None:
    """A phone number in E.164 (+380671234567), or None if it cannot be one."""
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identifiers(*, name: str, contact_handle: str, birth_year: int | None,
                region: str) -> dict[IdentifierKind, str]:
    """What identifies the person, normalised, by kind (only the kinds that can be made)."""
    found: dict[IdentifierKind, str] = {}
    handle = contact_handle.strip()
    phone = normalise_phone(handle, region) if looks_like_phone(handle) else None
    if phone is not None:
        found[IdentifierKind.PHONE] = phone
    elif handle:
        normalised = normalise_handle(handle)
        if normalised is not None:
            found[IdentifierKind.HANDLE] = normalised
    named = normalise_name(name, birth_year)
    if named is not None:
        found[IdentifierKind.NAME_BIRTH_YEAR] = named
    return found


class BlindIndex:
    """Makes a case's entries with the network's blind-index key and finds matches."""

    def __init__(self, keys: KeyRing, datastore: Any, *, postgres: bool, region: str) -> None:
        self._keys, self._ds, self._pg, self.region = keys, datastore, postgres, region
        self._table = f"{datastore.schema}.blind_index" if postgres else "blind_index"
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def key(self) -> bytes:
        """The blind index's own key (made once per store, kept in `data_keys`)."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    key = self._keys.key_for(BLIND_INDEX_SUBJECT, create=True)
                    if key is None:
                        raise RuntimeError("the blind index's key was erased")
                    self._key = key
        return self._key

    def digest(self, kind: str, value: str) -> bytes:
        """HMAC-SHA256 of the kind and the normalised value under the blind-index key."""
        return hmac.digest(self.key(), f"{kind}\x00{value}".encode(), hashlib.sha256)

    def entries(self, *, subject_id: UUID, case_id: UUID, name: str, contact_handle: str,
                birth_year: int | None) -> list[Entry]:
        """The case's rows: one per kind of identifier its intake gives."""
        found = identifiers(name=name, contact_handle=contact_handle, birth_year=birth_year,
                            region=self.region)
        return [(subject_id, case_id, kind.value, self.digest(kind.value, value))
                for kind, value in sorted(found.items())]

    def matches(self, case_ids: list[UUID]) -> dict[UUID, dict[UUID, set[str]]]:
        """For each of these cases, the other cases sharing a digest with it and the kinds
        they share (one query for a whole batch of openings)."""
        if not case_ids:
            return {}
        where = ("m.case_id = ANY(%s)" if self._pg
                 else f"m.case_id IN ({', '.join('%s' for _ in case_ids)})")
        sql = (f"SELECT m.case_id AS opened, o.case_id AS other, o.kind FROM {self._table} m "
               f"JOIN {self._table} "
               f"o ON o.digest = m.digest AND o.case_id <> m.case_id WHERE {where}")
        params = (case_ids,) if self._pg else tuple(case_ids)
        found: dict[UUID, dict[UUID, set[str]]] = {}
        for case_id, other, kind in self._fetch(sql, params, uuids=(0, 1)):
            found.setdefault(case_id, {}).setdefault(other, set()).add(kind)
        return found

    def rows(self) -> list[tuple[Any, ...]]:
        """Every entry (subject, case, kind, digest): for checks and tests."""
        sql = f"SELECT subject_id, case_id, kind, digest FROM {self._table}"
        return [(*r[:3], bytes(r[3])) for r in self._fetch(sql, (), uuids=(0, 1))]

    def _fetch(self, sql: str, params: tuple[Any, ...], *,
               uuids: tuple[int, ...]) -> list[tuple[Any, ...]]:
        if self._pg:
            with self._ds.get_connection() as conn:
                return [tuple(r.values()) for r in conn.execute(sql, params).fetchall()]
        with self._ds.transaction(commit=False) as c:
            c.execute(sql.replace("%s", "?"),
                      tuple(p.hex if isinstance(p, UUID) else p for p in params))
            rows = c.fetchall()
        return [tuple(UUID(v) if i in uuids else v for i, v in enumerate(r)) for r in rows]


def pg_store_entries(curs: Any, schema: str, rows: Sequence[Entry]) -> None:
    """In the caller's transaction (the one storing the case's opening)."""
    curs.execute(
        f"INSERT INTO {schema}.blind_index (subject_id, case_id, kind, digest) "
        "SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::bytea[]) "
        "ON CONFLICT DO NOTHING",
        ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
         [r[3] for r in rows]))


def sqlite_store_entries(c: Any, rows: Sequence[Entry]) -> None:
    """As `pg_store_entries`, on the embedded store."""
    c.executemany("INSERT OR IGNORE INTO blind_index (subject_id, case_id, kind, digest) "
                  "VALUES (?, ?, ?, ?)", [(s.hex, case.hex, k, d) for s, case, k, d in rows])


def pg_erase_entries(curs: Any, schema: str, subjects: Sequence[UUID]) -> None:
    """In the erasure's transaction: nothing matches an erased person again."""
    curs.execute(f"DELETE FROM {schema}.blind_index WHERE subject_id = ANY(%b::uuid[])",
                 (list(subjects),))


def sqlite_erase_entries(c: Any, subjects: Sequence[UUID]) -> None:
    """As `pg_erase_entries`, on the embedded store."""
    c.executemany("DELETE FROM blind_index WHERE subject_id = ?", [(s.hex,) for s in subjects])
