"""Per-person envelope encryption of personal data (AES-GCM from the `cryptography` package).

Each data subject has a random 256-bit data key. Data keys are stored apart from the
events, wrapped (encrypted) by the master key; deleting a subject's wrapped key makes every
sealed copy of their personal data unreadable: event store, snapshots, Kafka, exports.
"""

from __future__ import annotations

import base64
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.base import PersonalData

NONCE_BYTES = 12


class KeyStorage(Protocol):
    """Where wrapped data keys live (a table beside the events)."""

    def load_wrapped(self, subject_id: UUID) -> tuple[bytes, int] | None: ...
    def save_wrapped(self, subject_id: UUID, wrapped: bytes, master_version: int) -> bool: ...
    def replace_wrapped(self, subject_id: UUID, wrapped: bytes, master_version: int) -> None: ...
    def delete_wrapped(self, subject_id: UUID) -> bool: ...
    def all_wrapped(self) -> list[tuple[UUID, bytes, int]]: ...
    def is_erased(self, subject_id: UUID) -> bool: ...
    def create_missing(self, rows: list[tuple[UUID, bytes, int]]) -> KeysAfterCreate: ...


KeysAfterCreate = tuple[dict[UUID, tuple[bytes, int]], set[UUID], set[UUID]]
"""(keys that existed already, subjects whose offered key was stored, erased subjects)."""


class SubjectErased(Exception):
    """The subject's key was erased: their personal data can never be read again, and none
    can be recorded for them any more."""

    def __init__(self, subject_id: UUID) -> None:
        super().__init__(f"the personal data of subject {subject_id} was erased; none can be "
                         "recorded for them again")
        self.subject_id = subject_id


def decode_master_key(text: str) -> bytes:
    """Master keys are 32 bytes, given as URL-safe base64 (as `corridor keygen` prints)."""
    key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    if len(key) != 32:
        raise ValueError("the master key must be 32 bytes of URL-safe base64")
    return key


def new_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


class KeyRing:
    """Data keys per subject: created on first use, cached, wrapped by the master key."""

    def __init__(self, storage: KeyStorage, master_key: bytes, master_version: int = 1,
                 retired: dict[int, bytes] | None = None, *, max_cached: int = 50_000) -> None:
        self._storage = storage
        self._max_cached = max_cached
        # Revealing asks the store every time whether the subject's key is still there:
        # another process may have erased the subject a moment ago, and once an erasure is
        # answered no read anywhere may show the data. Sealing uses the cached key however
        # old: data sealed with an erased subject's key is as unreadable as the rest.
        self._master = AESGCM(master_key)
        self._master_version = master_version
        # Keys still wrapped by an older master (a rotation in progress) stay readable.
        self._masters = {v: AESGCM(k) for v, k in (retired or {}).items()}
        self._masters[master_version] = self._master
        self._cache: dict[UUID, bytes] = {}
        self._pending: dict[UUID, bytes] = {}
        """Keys made by `reserve` whose rows are not stored yet: they seal, never reveal."""
        self._lock = threading.Lock()

    @property
    def max_cached(self) -> int:
        """Data keys kept in memory at most (the first cached go first)."""
        return self._max_cached

    def cached(self) -> int:
        return len(self._cache)

    def key_for(self, subject_id: UUID, *, create: bool) -> bytes | None:
        """The subject's key (made if `create` and they have none and were not erased).
        Not `create` means revealing: the store is asked whether the key still exists."""
        cached = self._cache.get(subject_id)
        if cached is not None and create:
            return cached
        if create:
            pending = self._pending.get(subject_id)
            if pending is not None:
                return pending
        with self._lock:
            found = self._storage.load_wrapped(subject_id)
            if found is None:
                self._forget(subject_id)  # erased elsewhere, if it was cached
                if not create or self._storage.is_erased(subject_id):
                    return None
                key = AESGCM.generate_key(bit_length=256)
                if not self._storage.save_wrapped(subject_id, self._wrap(subject_id, key),
                                                  self._master_version):
                    found = self._storage.load_wrapped(subject_id)  # lost a race: use theirs
                    if found is None:
                        return None
                    key = self._unwrap(subject_id, *found)
            else:
                key = cached if cached is not None else self._unwrap(subject_id, *found)
            self._keep(subject_id, key)
            return key

    def prefetch(self, subject_ids: set[UUID]) -> None:
        """Load or create the keys of many subjects in one statement (one batch's worth):
        a new key is offered for every subject not cached and kept where none existed."""
        missing = [s for s in subject_ids if s not in self._cache and s not in self._pending]
        if not missing:
            return
        with self._lock:
            fresh = {s: AESGCM.generate_key(bit_length=256) for s in missing}
            found, created, erased = self._storage.create_missing(
                [(s, self._wrap(s, k), self._master_version) for s, k in fresh.items()])
            for subject_id, (wrapped, version) in found.items():
                self._keep(subject_id, self._unwrap(subject_id, wrapped, version))
            for subject_id in created:
                self._keep(subject_id, fresh[subject_id])
        for subject_id in set(missing) - found.keys() - created - erased:
            self.key_for(subject_id, create=True)  # lost a race: another process made it

    def known(self, subject_id: UUID) -> bool:
        """Whether the store holds a key for the subject, or erased theirs (a key `reserve`
        made and not yet stored does not count)."""
        return (self._storage.load_wrapped(subject_id) is not None
                or self._storage.is_erased(subject_id))

    def reserve(self, subject_ids: set[UUID]) -> list[tuple[UUID, bytes, int]]:
        """New keys for subjects believed to be new, answered as wrapped rows, which the
        caller stores in the same transaction as the data they seal: no round trip of their
        own. They seal at once, and reveal only once `confirm` says their rows are stored.
        Had a subject a key after all, or was it erased, that insert fails and the
        transaction stores nothing; the caller then forgets these keys (`forget_cached`) and
        looks them up instead."""
        rows = []
        with self._lock:
            for subject_id in subject_ids:
                if subject_id in self._cache or subject_id in self._pending:
                    continue
                key = AESGCM.generate_key(bit_length=256)
                self._pending[subject_id] = key
                rows.append((subject_id, self._wrap(subject_id, key), self._master_version))
        return rows

    def erase(self, subject_id: UUID) -> bool:
        """Delete a subject's key outside any command (tools, tests); a command erases with
        its own events instead (`UnitOfWork.erase_key`)."""
        with self._lock:
            self._forget(subject_id)
            return self._storage.delete_wrapped(subject_id)

    def confirm(self, subject_ids: Iterable[UUID]) -> None:
        """The reserved keys of these subjects are stored now: they may reveal too."""
        with self._lock:
            for subject_id in subject_ids:
                key = self._pending.pop(subject_id, None)
                if key is not None:
                    self._keep(subject_id, key)

    def forget_cached(self, subject_id: UUID) -> None:
        self._forget(subject_id)
        self._pending.pop(subject_id, None)

    def _keep(self, subject_id: UUID, key: bytes) -> None:
        if len(self._cache) >= self._max_cached and subject_id not in self._cache:
            for oldest in list(itertools.islice(self._cache, self._max_cached // 10 or 1)):
                self._forget(oldest)  # the first cached go first; a look-up brings one back
        self._cache[subject_id] = key

    def _forget(self, subject_id: UUID) -> None:
        self._cache.pop(subject_id, None)

    def rotate(self, new_master_key: bytes, new_version: int) -> int:
        """Re-wrap every data key under a new master key; returns how many were re-wrapped."""
        new_master = AESGCM(new_master_key)
        count = 0
        for subject_id, wrapped, version in self._storage.all_wrapped():
            if version == new_version:
                continue  # already re-wrapped by an interrupted earlier run
            key = self._unwrap(subject_id, wrapped, version)
            nonce = os.urandom(NONCE_BYTES)
            rewrapped = nonce + new_master.encrypt(nonce, key, _aad(subject_id, new_version))
            self._storage.replace_wrapped(subject_id, rewrapped, new_version)
            count += 1
        self._master, self._master_version = new_master, new_version
        self._masters[new_version] = new_master
        self._cache.clear()
        self._pending.clear()
        return count

    def _wrap(self, subject_id: UUID, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, _aad(subject_id, self._master_version))

    def _unwrap(self, subject_id: UUID, wrapped: bytes, version: int) -> bytes:
        master = self._masters.get(version)
        if master is None:
            raise KeyError(f"no master key of version {version} is configured")
        return master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:],
                              _aad(subject_id, version))


def _aad(subject_id: UUID, version: int) -> bytes:
    return subject_id.bytes + version.to_bytes(4, "big")


class Sealer:
    """Seals and reveals PersonalData values with their subject's data key."""

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def seal(self, data: PersonalData) -> bytes:
        if data.sealed is not None:
            return data.sealed
        if data.erased:
            return b""
        key = self.keys.key_for(data.subject_id, create=True)
        if key is None:
            raise SubjectErased(data.subject_id)
        nonce = os.urandom(NONCE_BYTES)
        plaintext = orjson.dumps(dict(data.fields or {}))
        return nonce + AESGCM(key).encrypt(nonce, plaintext, data.subject_id.bytes)

    def reveal(self, data: PersonalData) -> Mapping[str, Any] | None:
        """The plaintext fields, or None when the subject's data was erased (the store is
        asked: an erasure by another process holds at once)."""
        return self._reveal_with(data, self._cipher)

    def revealer(self) -> Callable[[PersonalData], Mapping[str, Any] | None]:
        """`reveal` for one view showing many values (a case's history): the store is asked
        once per subject for the whole view, not once per value."""
        ciphers: dict[UUID, AESGCM | None] = {}

        def cipher(subject: UUID) -> AESGCM | None:
            if subject in ciphers:
                return ciphers[subject]
            found = ciphers[subject] = self._cipher(subject)
            return found

        return lambda data: self._reveal_with(data, cipher)

    def _cipher(self, subject: UUID) -> AESGCM | None:
        key = self.keys.key_for(subject, create=False)
        return None if key is None else AESGCM(key)

    def _reveal_with(self, data: PersonalData,
                     cipher_of: Callable[[UUID], AESGCM | None]) -> Mapping[str, Any] | None:
        if data.erased:
            return None
        if data.fields is not None:  # legacy plaintext shows only while the key would
            if data.legacy and cipher_of(data.subject_id) is None:
                return None
            return data.fields
        if not data.sealed:
            return None
        cipher = cipher_of(data.subject_id)
        if cipher is None:
            return None
        try:
            plain = cipher.decrypt(data.sealed[:NONCE_BYTES], data.sealed[NONCE_BYTES:],
                                   data.subject_id.bytes)
        except InvalidTag:
            return None
        loaded: dict[str, Any] = orjson.loads(plain)
        return loaded
