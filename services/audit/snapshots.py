"""Snapshots decoded once and copied for each replay that starts from them.

An auditor slides through one long case: every as-of answer, diff and history window starts
from the nearest snapshot at or below its version. A case that keeps a sealed journal entry
per step has a snapshot of hundreds of kilobytes at a thousand events, and reading and
decoding it again for every moment was the largest part of each answer. A stored snapshot
never changes, so this keeps the decoded ones (ciphertext only: personal data in them stays
sealed, and shows only as its subject's key still allows) and hands out copies to fold on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanSnapshotAggregate

Snapshot = CanSnapshotAggregate[UUID]
Loaded = tuple[Snapshot, int]
"""A decoded snapshot and the size of its stored state in bytes."""

SNAPSHOT_CACHE_BYTES = 8 * 1024 * 1024
"""Stored bytes of the decoded snapshots kept (least recently used forgotten first): the
snapshots of a few long cases an auditor is going through."""


def thawed(value: Any) -> Any:
    """A copy of decoded JSON whose dicts and lists are new; every other value is shared.

    Decoded snapshot state holds only dicts, lists, JSON scalars and the transcoded values
    (UUID, datetime, Decimal, Meta, PersonalData), which are immutable: an aggregate folded on
    from the copy can change its lists and dicts without touching the kept snapshot."""
    kind = type(value)
    if kind is dict:
        return {key: thawed(item) for key, item in value.items()}
    if kind is list:
        return [thawed(item) for item in value]
    return value


class DecodedSnapshots:
    """Decoded snapshots by (stream, version), bounded by their stored size; thread-safe."""

    def __init__(self, max_bytes: int = SNAPSHOT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[tuple[UUID, int], Loaded] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def aggregate(self, stream_id: UUID, version: int,
                  load: Callable[[], Loaded | None]) -> Any | None:
        """The aggregate as of the snapshot at `version`, a fresh object each call (None when
        no such snapshot is stored). `load` reads and decodes it when it is not kept."""
        found = self._get((stream_id, version))
        if found is None:
            found = load()
            if found is None:
                return None
            self._keep((stream_id, version), found)
        snapshot = found[0]
        copy: Any = replace(snapshot, state=thawed(snapshot.state))  # type: ignore[type-var]
        return copy.mutate(None)

    def _get(self, key: tuple[UUID, int]) -> Loaded | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def _keep(self, key: tuple[UUID, int], loaded: Loaded) -> None:
        if loaded[1] > self.max_bytes:
            return
        with self._lock:
            if key in self._kept:
                return
            self._kept[key] = loaded
            self._bytes += loaded[1]
            while self._bytes > self.max_bytes:
                _, (_, size) = self._kept.popitem(last=False)
                self._bytes -= size
