"""Checking the store's hash chain and anchors from rows already read (pure logic).

Each stored event's chain hash is `chain_hash(previous, event)` (services.storage.recorders).
Two things are recomputed per event:
- the local check `chain_hash(recorded previous, event) == recorded`, which names exactly
  the event whose bytes (or chain row) changed;
- the full recomputation from genesis, which anchors are compared with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.audit.models import ChainBreak
from services.storage.recorders import GENESIS, chain_hash

ANCHOR_DOMAIN = b"corridor-anchor-v1"
BROKEN = b"\xff" * 32
"""Stands in for an unknown predecessor: every hash chained from it is wrong, as it must be."""


@dataclass(frozen=True)
class ChainRow:
    """A stored event with its store position and the chain hash recorded for it (if any)."""

    position: int | None
    event: StoredEvent
    recorded: bytes | None


@dataclass
class _Head:
    version: int
    recorded: bytes | None
    recomputed: bytes


class AnchorDigest:
    """SHA-256 over (position, chain hash) for every stored event in a range of positions."""

    def __init__(self, from_position: int, to_position: int) -> None:
        self.from_position = from_position
        self.to_position = to_position
        self._sha = hashlib.sha256(ANCHOR_DOMAIN)
        self._sha.update(from_position.to_bytes(8, "big") + to_position.to_bytes(8, "big"))

    def covers(self, position: int) -> bool:
        return self.from_position <= position <= self.to_position

    def add(self, position: int, hash_: bytes | None) -> None:
        self._sha.update(position.to_bytes(8, "big") + (hash_ or bytes(32)))

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def anchor_digest(from_position: int, to_position: int,
                  rows: list[tuple[int, bytes | None]]) -> str:
    """The digest of a range from its (position, chain hash) rows in position order."""
    digest = AnchorDigest(from_position, to_position)
    for position, hash_ in rows:
        digest.add(position, hash_)
    return digest.hexdigest()


class ChainChecker:
    """Follows every stream's chain through rows given in store (or version) order."""

    def __init__(self, max_breaks: int = 100) -> None:
        self._heads: dict[UUID, _Head] = {}
        self.max_breaks = max_breaks
        self.breaks: list[ChainBreak] = []
        self.truncated = False
        self.events_checked = 0

    @property
    def streams_checked(self) -> int:
        return len(self._heads)

    def check(self, row: ChainRow) -> bytes:
        """Check one event against its chain row; returns its fully recomputed hash."""
        event, stream = row.event, _uuid(row.event.originator_id)
        version = event.originator_version
        head = self._heads.get(stream)
        previous = self._previous(stream, version, head, row.position)
        recomputed = chain_hash(previous[1], event)
        found = chain_hash(previous[0], event) if previous[0] is not None else None
        if row.recorded is None:
            self._break("unchained", stream, version, row.position, None, recomputed.hex(),
                        "the event has no row in event_chain")
        elif found is not None and found != row.recorded:
            self._break("altered", stream, version, row.position, row.recorded.hex(),
                        found.hex(), "the stored event does not hash to its recorded chain hash")
        self._heads[stream] = _Head(version, row.recorded, recomputed)
        self.events_checked += 1
        return recomputed

    def resume(self, stream: UUID, version: int, recorded: bytes | None,
               position: int | None, *, stored: bool = True) -> None:
        """Check a window of a stream from `version + 1` on, linking its first event to the
        hash recorded for `version` (hashes recomputed from then on are relative to it)."""
        if not stored:
            self._break("missing", stream, version, None, f"version {version}", None,
                        f"version {version}, the event before the first one checked, is "
                        "missing (deleted or never stored)")
        elif recorded is None:
            self._break("unchained", stream, version, position, None, None,
                        "the event before the first one checked has no row in event_chain")
        self._heads[stream] = _Head(version, recorded, recorded or BROKEN)

    def _previous(self, stream: UUID, version: int, head: _Head | None,
                  position: int | None) -> tuple[bytes | None, bytes]:
        """(recorded previous hash for the local check, recomputed previous hash)."""
        if version == 1 and head is None:
            return GENESIS, GENESIS
        last = head.version if head is not None else 0
        if head is None or version != last + 1:
            self._break("missing", stream, last + 1, position, f"version {last + 1}",
                        f"version {version}", f"versions {last + 1}..{version - 1} of the "
                        "stream are missing (deleted or never stored)")
            return None, BROKEN
        if head.recorded is None and head.recomputed == BROKEN:
            return None, BROKEN  # a window resumed after an unknown hash: no local check
        return (head.recorded if head.recorded is not None else head.recomputed,
                head.recomputed)

    def orphan(self, stream_id: UUID, version: int, recorded: bytes) -> None:
        """A chain row whose event is gone from the store."""
        self._break("orphaned", stream_id, version, None, recorded.hex(), None,
                    "event_chain has a row for an event that is not in the store")

    def _break(self, kind: str, stream: UUID, version: int, position: int | None,
               expected: str | None, found: str | None, detail: str) -> None:
        if len(self.breaks) >= self.max_breaks:
            self.truncated = True
            return
        self.breaks.append(ChainBreak(kind=kind,  # type: ignore[arg-type]
                                      stream_id=stream, version=version, position=position,
                                      expected=expected, found=found, detail=detail))

    @property
    def first_break(self) -> ChainBreak | None:
        located = [b for b in self.breaks if b.position is not None]
        return min(located, key=lambda b: b.position or 0) if located else (
            self.breaks[0] if self.breaks else None)


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
