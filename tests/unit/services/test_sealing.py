"""Per-person sealing, erasure by key deletion and master-key rotation, on in-memory storage."""

from __future__ import annotations

import uuid

import pytest

from domain.base import PersonalData
from services.storage.sealing import (
    KeyRing,
    KeysAfterCreate,
    Sealer,
    decode_master_key,
    new_master_key,
)


class MemoryKeys:
    """A hand-written fake of the key table."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, tuple[bytes, int]] = {}
        self.erased: set[uuid.UUID] = set()
        self.round_trips = 0
        self.loads = 0

    def load_wrapped(self, subject_id: uuid.UUID) -> tuple[bytes, int] | None:
        self.loads += 1
        return self.rows.get(subject_id)

    def save_wrapped(self, subject_id: uuid.UUID, wrapped: bytes, version: int) -> bool:
        if subject_id in self.rows:
            return False
        self.rows[subject_id] = (wrapped, version)
        return True

    def replace_wrapped(self, subject_id: uuid.UUID, wrapped: bytes, version: int) -> None:
        self.rows[subject_id] = (wrapped, version)

    def delete_wrapped(self, subject_id: uuid.UUID) -> bool:
        self.erased.add(subject_id)
        return self.rows.pop(subject_id, None) is not None

    def all_wrapped(self) -> list[tuple[uuid.UUID, bytes, int]]:
        return [(s, w, v) for s, (w, v) in self.rows.items()]

    def is_erased(self, subject_id: uuid.UUID) -> bool:
        return subject_id in self.erased

    def create_missing(self, rows: list[tuple[uuid.UUID, bytes, int]]) -> KeysAfterCreate:
        self.round_trips += 1  # one statement, as on PostgreSQL
        found = {s: self.rows[s] for s, _, _ in rows if s in self.rows}
        erased = {s for s, _, _ in rows if s in self.erased}
        created = {s for s, w, v in rows
                   if s not in found and s not in erased and self.save_wrapped(s, w, v)}
        return found, created, erased


def _sealer(storage: MemoryKeys, key: str, version: int = 1,
            retired: dict[int, bytes] | None = None) -> Sealer:
    return Sealer(KeyRing(storage, decode_master_key(key), version, retired))


def test_sealed_data_reveals_only_with_the_subjects_key() -> None:
    storage, subject = MemoryKeys(), uuid.uuid4()
    sealer = _sealer(storage, new_master_key())
    sealed = sealer.seal(PersonalData.of(subject, name="Olena"))
    assert b"Olena" not in sealed
    assert sealer.reveal(PersonalData(subject_id=subject, sealed=sealed)) == {"name": "Olena"}


def test_data_sealed_for_one_subject_cannot_be_revealed_as_another() -> None:
    storage = MemoryKeys()
    sealer = _sealer(storage, new_master_key())
    sealed = sealer.seal(PersonalData.of(uuid.uuid4(), name="Olena"))
    other = uuid.uuid4()
    sealer.keys.key_for(other, create=True)
    assert sealer.reveal(PersonalData(subject_id=other, sealed=sealed)) is None


def test_legacy_plaintext_shows_only_while_its_subjects_key_exists() -> None:
    storage, subject = MemoryKeys(), uuid.uuid4()
    sealer = _sealer(storage, new_master_key())
    sealer.keys.key_for(subject, create=True)
    legacy = PersonalData.from_legacy(uuid.uuid4(), place="Chop").belonging_to(subject)
    assert sealer.reveal(legacy) == {"place": "Chop"}
    sealer.keys.erase(subject)
    assert sealer.reveal(legacy) is None


def test_legacy_plaintext_is_sealed_like_any_value_when_stored_again() -> None:
    storage, subject = MemoryKeys(), uuid.uuid4()
    sealer = _sealer(storage, new_master_key())
    sealed = sealer.seal(PersonalData(subject_id=subject, fields={"place": "Chop"},
                                      legacy=True))
    assert b"Chop" not in sealed
    assert sealer.reveal(PersonalData(subject_id=subject, sealed=sealed)) == {"place": "Chop"}


def test_erasing_the_key_makes_sealed_data_unreadable_for_good() -> None:
    storage, subject = MemoryKeys(), uuid.uuid4()
    sealer = _sealer(storage, new_master_key())
    sealed = sealer.seal(PersonalData.of(subject, phone="+380"))
    assert sealer.keys.erase(subject)
    assert sealer.reveal(PersonalData(subject_id=subject, sealed=sealed)) is None
    assert sealer.keys.key_for(subject, create=True) is None  # never re-created


def test_rotation_rewraps_keys_so_old_data_reads_under_the_new_master_only() -> None:
    storage, subject = MemoryKeys(), uuid.uuid4()
    old, new = new_master_key(), new_master_key()
    sealed = _sealer(storage, old).seal(PersonalData.of(subject, name="Iryna"))
    rotated = _sealer(storage, old).keys.rotate(decode_master_key(new), 2)
    assert rotated == 1
    after = _sealer(storage, new, version=2)
    assert after.reveal(PersonalData(subject_id=subject, sealed=sealed)) == {"name": "Iryna"}
    with pytest.raises(KeyError):
        _sealer(storage, old, version=1).keys.key_for(subject, create=False)


def test_an_interrupted_rotation_stays_readable_with_the_previous_key_configured() -> None:
    storage = MemoryKeys()
    old, new = new_master_key(), new_master_key()
    first, second = uuid.uuid4(), uuid.uuid4()
    sealer = _sealer(storage, old)
    sealed = sealer.seal(PersonalData.of(first, name="A"))
    sealer.seal(PersonalData.of(second, name="B"))
    wrapped, _ = storage.rows[second]
    sealer.keys.rotate(decode_master_key(new), 2)
    storage.rows[second] = (wrapped, 1)  # as if the run stopped before this one
    mixed = _sealer(storage, new, version=2, retired={1: decode_master_key(old)})
    assert mixed.reveal(PersonalData(subject_id=first, sealed=sealed)) == {"name": "A"}
    assert mixed.keys.key_for(second, create=False) is not None


def test_master_keys_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        decode_master_key("c2hvcnQ")


def test_prefetch_loads_known_keys_and_creates_new_ones_in_one_round_trip() -> None:
    storage = MemoryKeys()
    known, erased = uuid.uuid4(), uuid.uuid4()
    first = _sealer(storage, new_master_key())
    sealed = first.seal(PersonalData.of(known, name="K"))
    storage.erased.add(erased)
    fresh = {uuid.uuid4() for _ in range(50)}
    first.keys.forget_cached(known)
    first.keys.prefetch({known, erased, *fresh})
    assert storage.round_trips == 1
    assert first.reveal(PersonalData(subject_id=known, sealed=sealed)) == {"name": "K"}
    assert all(s in storage.rows for s in fresh)
    assert erased not in storage.rows  # an erased subject never gets a key again


def test_reserved_keys_seal_at_once_and_are_readable_once_their_rows_are_stored() -> None:
    storage = MemoryKeys()
    master = new_master_key()
    writer = _sealer(storage, master)
    person = uuid.uuid4()
    rows = writer.keys.reserve({person})
    sealed = writer.seal(PersonalData.of(person, name="R"))
    assert storage.round_trips == 0 and person not in storage.rows  # the caller stores rows
    assert writer.keys.reserve({person}) == []  # cached: reserved once only
    for subject_id, wrapped, version in rows:  # as the writer's transaction does
        storage.save_wrapped(subject_id, wrapped, version)
    reader = _sealer(storage, master)
    assert reader.reveal(PersonalData(subject_id=person, sealed=sealed)) == {"name": "R"}


def test_a_reserved_key_forgotten_after_a_failed_insert_is_looked_up_again() -> None:
    storage = MemoryKeys()
    master = new_master_key()
    other = _sealer(storage, master)
    person = uuid.uuid4()
    sealed = other.seal(PersonalData.of(person, name="O"))  # another process made the key
    writer = _sealer(storage, master)
    writer.keys.reserve({person})  # its insert would fail on the existing row
    writer.keys.forget_cached(person)
    assert writer.reveal(PersonalData(subject_id=person, sealed=sealed)) == {"name": "O"}


def test_an_erasure_by_another_process_stops_revealing_here_at_once() -> None:
    storage, master = MemoryKeys(), new_master_key()
    person = uuid.uuid4()
    writer = _sealer(storage, master)
    sealed = PersonalData(subject_id=person, sealed=writer.seal(PersonalData.of(person, n="E")))
    reader = _sealer(storage, master)
    assert reader.reveal(sealed) == {"n": "E"}  # its key is now cached by the reader

    writer.keys.erase(person)  # in another process

    assert reader.reveal(sealed) is None
    assert reader.keys.key_for(person, create=False) is None


def test_one_view_asks_the_store_once_per_subject_and_sees_an_erasure_in_the_next() -> None:
    storage, master = MemoryKeys(), new_master_key()
    person = uuid.uuid4()
    writer = _sealer(storage, master)
    notes = [PersonalData(subject_id=person, sealed=writer.seal(PersonalData.of(person, n=i)))
             for i in range(5)]
    reader = _sealer(storage, master)
    view, loads = reader.revealer(), storage.loads

    assert [view(n) for n in notes] == [{"n": i} for i in range(5)]
    assert storage.loads == loads + 1
    writer.keys.erase(person)
    assert [reader.revealer()(n) for n in notes] == [None] * 5


def test_sealing_uses_a_cached_key_however_old_without_asking_the_store() -> None:
    storage = MemoryKeys()
    keys = KeyRing(storage, decode_master_key(new_master_key()))
    person = uuid.uuid4()
    first = keys.key_for(person, create=True)
    reads_before = storage.loads

    assert keys.key_for(person, create=True) == first
    assert storage.loads == reads_before


def test_the_key_cache_stays_bounded_and_a_dropped_key_is_looked_up_again() -> None:
    storage = MemoryKeys()
    keys = KeyRing(storage, decode_master_key(new_master_key()), max_cached=10)
    people = [uuid.uuid4() for _ in range(25)]
    made = {p: keys.key_for(p, create=True) for p in people}

    assert len(keys._cache) <= 10
    loads = storage.loads
    assert keys.key_for(people[0], create=True) == made[people[0]]  # dropped, loaded again
    assert storage.loads == loads + 1
