"""One stream's past: event by event, as of a version or a moment, what changed in between,
and which resources it relied on as they stood then."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from domain.base import CoordinationError, InvalidCommand, NotFound
from services.audit.chain import ChainRow
from services.audit.diff import diff_states
from services.audit.models import (
    ChainCheck,
    EventSummary,
    History,
    HistoryEntry,
    ResourceReport,
    ResourceUse,
    StateDiff,
    StreamState,
)
from services.audit.render import (
    Disclosure,
    aggregate_type,
    event_fields,
    event_meta,
    event_type,
    state_json,
    stream_type_of_topic,
    to_json,
    uuids_in,
)
from services.audit.snapshots import DecodedSnapshots, Loaded
from services.audit.store import EventIndex, StoreReader
from services.audit.verify import check_events
from services.storage.application import CorridorApplication

Moment = int | datetime
"""A version of the stream, or a time (the stream as recorded at or before it)."""
MAX_VERSION = 2**53
"""Versions beyond this are refused rather than overflowing the store's 64-bit integers."""
Progress = Callable[[int, int], None]

VERIFICATION_FIELDS = ("verification", "status", "status_reason", "verified_by", "verified_at",
                       "verified_version", "expires_at", "capacity", "occupancy")
RESOURCE_KINDS = frozenset({"Resource"})
UNREPLAYABLE = (MapperDeserialisationError, OriginatorVersionError, TypeError, KeyError,
                ValueError, AttributeError)
"""What stored bytes that were altered (or events that went missing) make replay raise."""
CHAIN_RECHECK_SECONDS = 60.0
"""How long a stream's chain, once found intact up to a version, counts as checked for the
as-of answers of this process: sliding through a case of a thousand events would otherwise
hash every event before each moment again, each time. Events recorded after the check are
always checked; `corridor audit verify` and histories check everything."""
CHECKED_STREAMS = 10_000
"""Streams whose checked prefix is remembered (least recently used forgotten first)."""


@dataclass(frozen=True)
class CheckedUpTo:
    """A stream's chain found intact from its first event up to `version`."""

    version: int
    recorded: bytes
    position: int | None
    at: float


class CheckedChains:
    """The intact prefixes of streams' chains this process found lately (bounded, and each
    only for CHAIN_RECHECK_SECONDS); shared by the threads answering as-of queries."""

    def __init__(self, seconds: float = CHAIN_RECHECK_SECONDS, size: int = CHECKED_STREAMS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds, self._size, self._clock = seconds, size, clock
        self._known: OrderedDict[UUID, CheckedUpTo] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stream_id: UUID) -> CheckedUpTo | None:
        with self._lock:
            found = self._known.get(stream_id)
            if found is None:
                return None
            if self._clock() - found.at > self._seconds:
                del self._known[stream_id]
                return None
            self._known.move_to_end(stream_id)
            return found

    def found_intact(self, stream_id: UUID, version: int, recorded: bytes,
                     position: int | None, since: CheckedUpTo | None) -> None:
        """The chain holds up to `version` (checked from the start, or after `since`: then
        the earlier check's time stands, so a prefix is hashed again once it has aged)."""
        with self._lock:
            known = self._known.get(stream_id)
            if known is not None and known.version >= version:
                return
            at = since.at if since is not None else self._clock()
            self._known[stream_id] = CheckedUpTo(version, recorded, position, at)
            self._known.move_to_end(stream_id)
            while len(self._known) > self._size:
                self._known.popitem(last=False)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a timezone; ValueError says what is wrong."""
    text = text.strip().replace(" ", "+")  # an unencoded '+' of an offset arrives as a space
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("expected an ISO 8601 time, e.g. 2026-03-01T12:00:00Z") from None
    if at.tzinfo is None:
        raise ValueError("the time needs a timezone, e.g. 2026-03-01T12:00:00Z")
    try:
        at.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None
    return at


def parse_moment(text: str) -> Moment:
    """A version (0, 1, 2...) or an ISO 8601 time with a timezone."""
    stripped = text.strip()
    if stripped.isdigit():
        if len(stripped) > 16 or int(stripped) > MAX_VERSION:
            raise ValueError(f"a version is at most {MAX_VERSION}")
        return int(stripped)
    if stripped.startswith("-") and stripped[1:].isdigit():
        raise ValueError("a version is zero or more")
    return parse_time(stripped)


class HistoryUnreadable(CoordinationError):
    """The stored events of a stream cannot be replayed (verify the store: it may be altered)."""

    http_status = 409


class Replay:
    """Reconstructs streams from the store; personal data is shown as a Disclosure allows."""

    def __init__(self, app: CorridorApplication, reader: StoreReader | None = None) -> None:
        self.app = app
        self.reader = reader or StoreReader(app)
        self._kinds: dict[UUID, str] = {}
        self.checked = CheckedChains()
        self.snapshots = DecodedSnapshots()

    # --- history ---------------------------------------------------------------------------

    def history(self, stream_id: UUID, disclosure: Disclosure, *, from_version: int = 1,
                to_version: int | None = None, progress: Progress | None = None) -> History:
        """Every event (from..to) with the stream's full state right after it."""
        kind = self.require(stream_id)
        start = self._aggregate_at(stream_id, from_version - 1) if from_version > 1 else None
        previous = state_json(start, disclosure) if start is not None else None
        stored = self.app.recorder.select_events(stream_id, gt=from_version - 1, lte=to_version)
        # from_version - 1 too: the first event's link to the one before it is checked
        index = self.reader.stream_index(stream_id, gt=from_version - 2, lte=to_version)
        entries: list[HistoryEntry] = []
        for domain_event, aggregate in self._fold(stored, start):
            state = state_json(aggregate, disclosure)
            spot = index.get(aggregate.version)
            entries.append(HistoryEntry(
                version=aggregate.version, position=spot.position if spot else None,
                recorded_at=spot.recorded_at if spot else None, type=event_type(domain_event),
                meta=event_meta(domain_event), data=to_json(event_fields(domain_event),
                                                            disclosure),
                changes=diff_states(previous, state), state=state,
                chain_hash=spot.hash.hex() if spot and spot.hash else None))
            previous = state
            if progress is not None:
                progress(len(entries), len(stored))
        # No entries: the state before from_version, or the whole stream if it ends earlier.
        version = entries[-1].version if entries else start.version if start is not None else 0
        return History(stream_id=stream_id, type=kind, version=version,
                       personal_data=disclosure.label,  # type: ignore[arg-type]
                       entries=entries, chain=self._window_chain(
                           stream_id, stored, index, from_version, to_version))

    def _window_chain(self, stream_id: UUID, stored: Sequence[StoredEvent],
                      index: dict[int, EventIndex], from_version: int,
                      to_version: int | None) -> ChainCheck:
        """The chain over the events a history returns (not the whole stream: that is
        `verify`), and chain rows in the window whose event was deleted."""
        rows = [ChainRow(spot.position if spot else None, event, spot.hash if spot else None)
                for event in stored
                for spot in [index.get(event.originator_version)]]
        orphans = self.reader.stream_orphans(stream_id, gt=from_version - 1, lte=to_version)
        return check_events(stream_id, rows, orphans, from_version=from_version,
                            before=index.get(from_version - 1))

    def _chain_upto(self, stream_id: UUID, version: int) -> ChainCheck:
        """The chain over the events a state as of `version` is made of: the events after
        the prefix found intact lately (CheckedChains), every event without one."""
        if version == 0:
            return check_events(stream_id, [], {})
        orphans = self.reader.stream_orphans(stream_id, lte=version)
        known = self.checked.get(stream_id)
        if known is not None and known.version >= version:
            check = check_events(stream_id, [], orphans)
            return check.model_copy(update={"checked_earlier": version})
        after = known.version if known is not None else 0
        rows = self.reader.stream_rows(stream_id, lte=version, gt=after)
        before = None if known is None else EventIndex(known.position, None, known.recorded)
        check = check_events(stream_id, rows, orphans, from_version=after + 1, before=before)
        last = rows[-1] if rows else None
        if check.intact and last is not None and last.recorded is not None:
            self.checked.found_intact(stream_id, last.event.originator_version,
                                      last.recorded, last.position, known)
        return check.model_copy(update={"checked_earlier": after})

    def _fold(self, stored: Iterable[StoredEvent], aggregate: Any) -> Iterable[tuple[Any, Any]]:
        for item in stored:
            try:
                domain_event: Any = self.app.mapper.to_domain_event(item)
                aggregate = domain_event.mutate(aggregate)
            except UNREPLAYABLE as error:
                raise HistoryUnreadable(
                    f"event {item.originator_version} of stream {item.originator_id} cannot be "
                    f"replayed ({type(error).__name__}); run `corridor audit verify`") from None
            yield domain_event, aggregate

    # --- as of -----------------------------------------------------------------------------

    def as_of_version(self, stream_id: UUID, version: int, disclosure: Disclosure) -> StreamState:
        """The stream as it was right after `version` (snapshots make this cheap)."""
        if version < 0:
            raise InvalidCommand("version must be zero or more")
        if version == 0:
            return self._before_start(stream_id, disclosure, requested_version=0)
        aggregate = self._aggregate_at(stream_id, version)
        return self._state(stream_id, aggregate, disclosure, requested_version=version)

    def as_of_time(self, stream_id: UUID, at: datetime, disclosure: Disclosure) -> StreamState:
        """The stream as recorded at or before `at` (one index probe, then as of version)."""
        if at.tzinfo is None:
            raise InvalidCommand("the time must carry a timezone")
        found = self.reader.last_recorded(stream_id, at)
        if found is None:
            return self._before_start(stream_id, disclosure, requested_at=at)
        aggregate = self._aggregate_at(stream_id, found[0])
        return self._state(stream_id, aggregate, disclosure, requested_at=at,
                           recorded_at=found[1])

    def version_of(self, stream_id: UUID, moment: Moment) -> int:
        """The version a moment names (0: before the stream began)."""
        if isinstance(moment, datetime):
            if moment.tzinfo is None:
                raise InvalidCommand("the time must carry a timezone")
            return self.reader.version_at(stream_id, moment) or 0
        if moment < 0:
            raise InvalidCommand("a version is zero or more")
        return moment

    def _state(self, stream_id: UUID, aggregate: Any, disclosure: Disclosure,
               requested_version: int | None = None, requested_at: datetime | None = None,
               recorded_at: datetime | None = None) -> StreamState:
        if recorded_at is None:
            recorded_at = self.reader.recorded_at(stream_id, aggregate.version)
        return StreamState(
            stream_id=stream_id, type=aggregate_type(aggregate), exists=True,
            version=aggregate.version, requested_version=requested_version,
            requested_at=requested_at, recorded_at=recorded_at,
            created_on=aggregate.created_on, modified_on=aggregate.modified_on,
            personal_data=disclosure.label,  # type: ignore[arg-type]
            state=state_json(aggregate, disclosure),
            chain=self._chain_upto(stream_id, aggregate.version))

    def _before_start(self, stream_id: UUID, disclosure: Disclosure,
                      **requested: Any) -> StreamState:
        kind = self.require(stream_id)
        return StreamState(stream_id=stream_id, type=kind, exists=False, version=0,
                           personal_data=disclosure.label,  # type: ignore[arg-type]
                           state=None, chain=self._chain_upto(stream_id, 0), **requested)

    def _aggregate_at(self, stream_id: UUID, version: int) -> Any:
        try:
            return self._reconstructed(stream_id, version)
        except AggregateNotFoundError:
            raise NotFound(f"no stream with id {stream_id}") from None
        except UNREPLAYABLE as error:
            raise HistoryUnreadable(f"stream {stream_id} cannot be replayed to version "
                                    f"{version} ({type(error).__name__}); run "
                                    "`corridor audit verify`") from None

    def _reconstructed(self, stream_id: UUID, version: int) -> Any:
        """The aggregate as of `version`: from the last snapshot at or below it (decoded once
        per process, DecodedSnapshots), then the events after that snapshot."""
        aggregate: Any = None
        start = self.reader.snapshot_version(stream_id, version)
        if start is not None:
            aggregate = self.snapshots.aggregate(
                stream_id, start, partial(self._load_snapshot, stream_id, start))
            if aggregate is None:  # gone since the version was read: fold every event
                start = None
        stored = self.app.recorder.select_events(stream_id, gt=start, lte=version)
        for item in stored:
            domain_event: Any = self.app.mapper.to_domain_event(item)
            aggregate = domain_event.mutate(aggregate)
        if aggregate is None:
            raise AggregateNotFoundError(stream_id)
        return aggregate

    def _load_snapshot(self, stream_id: UUID, version: int) -> Loaded | None:
        store = self.app.snapshots
        if store is None:
            return None
        found = store.recorder.select_events(stream_id, gt=version - 1, lte=version, limit=1)
        if not found:
            return None
        snapshot: Any = store.mapper.to_domain_event(found[0])
        return snapshot, len(found[0].state)

    # --- diff ------------------------------------------------------------------------------

    def diff(self, stream_id: UUID, before: Moment, after: Moment,
             disclosure: Disclosure) -> StateDiff:
        """Field-by-field changes between two moments, and the events in between."""
        kind = self.require(stream_id)
        old, new = self.version_of(stream_id, before), self.version_of(stream_id, after)
        if old > new:
            raise InvalidCommand(f"'from' (version {old}) is after 'to' (version {new})")
        old_aggregate = self._aggregate_at(stream_id, old) if old else None
        old_state = state_json(old_aggregate, disclosure) if old_aggregate is not None else None
        new_aggregate = self._aggregate_at(stream_id, new) if new else None
        new_state = state_json(new_aggregate, disclosure) if new_aggregate is not None else None
        old = old_aggregate.version if old_aggregate is not None else 0
        new = new_aggregate.version if new_aggregate is not None else 0
        events = [EventSummary(version=e.originator_version, type=event_type(e),
                               actor=m.actor if (m := event_meta(e)) else None,
                               at=m.at if m else None)
                  for e in self.app.events.get(stream_id, gt=old, lte=new)]
        return StateDiff(stream_id=stream_id, type=kind, from_version=old, to_version=new,
                         personal_data=disclosure.label,  # type: ignore[arg-type]
                         changes=diff_states(old_state, new_state), events=events)

    # --- resources -------------------------------------------------------------------------

    def resources_used(self, stream_id: UUID, disclosure_for: Callable[[UUID], Disclosure],
                       kinds: frozenset[str] = RESOURCE_KINDS) -> ResourceReport:
        """For each event naming resources: each resource as it stood at that event's time."""
        self.require(stream_id)
        uses: list[ResourceUse] = []
        stored = self.app.recorder.select_events(stream_id)
        for domain_event, _ in self._fold(stored, None):
            named = [i for i in uuids_in(event_fields(domain_event))
                     if i != stream_id and self.kind_of(i) in kinds]
            for resource_id in named:
                uses.append(self._use(domain_event, resource_id, disclosure_for(resource_id)))
        return ResourceReport(stream_id=stream_id, uses=uses)

    def _use(self, domain_event: Any, resource_id: UUID, disclosure: Disclosure) -> ResourceUse:
        used_at: datetime = domain_event.timestamp
        version = self.reader.version_at(resource_id, used_at)
        base = {"event_version": domain_event.originator_version,
                "event_type": event_type(domain_event), "used_at": used_at,
                "resource_id": resource_id}
        if version is None:
            return ResourceUse(**base, resource_version=None, verification={}, usable=False,
                               unusable_reason="not reported yet", state=None)
        resource = self._aggregate_at(resource_id, version)
        state = state_json(resource, disclosure)
        check = getattr(resource, "unusable_reason", None)
        reason = check(used_at) if callable(check) else None
        return ResourceUse(**base, resource_version=version,
                           verification={k: state[k] for k in VERIFICATION_FIELDS if k in state},
                           usable=reason is None if callable(check) else None,
                           unusable_reason=reason, state=state)

    # --- streams ---------------------------------------------------------------------------

    def kind_of(self, stream_id: UUID) -> str | None:
        """The aggregate class of a stream ('Case', 'Resource'...), or None if there is none."""
        known = self._kinds.get(stream_id)
        if known is None:
            first = self.reader.first_event(stream_id)
            if first is None:
                return None  # not remembered: the stream may begin later
            known = self._kinds[stream_id] = stream_type_of_topic(first.topic)
        return known

    def require(self, stream_id: UUID) -> str:
        """The stream's kind; NotFound when no such stream exists."""
        kind = self.kind_of(stream_id)
        if kind is None:
            raise NotFound(f"no stream with id {stream_id}")
        return kind
