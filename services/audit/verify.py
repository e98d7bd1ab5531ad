"""Tamper evidence: recompute the hash chain from the stored bytes and compare it with
event_chain, check every anchor against the recomputed range, and (optionally) check that
snapshots match the events they summarise."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.access import ANCHOR_LOG_ID
from domain.base import NotFound
from services.audit.chain import AnchorDigest, ChainChecker, ChainRow
from services.audit.models import AnchorCheck, ChainCheck, SnapshotCheck, VerifyReport
from services.audit.render import SealedForm, canonical, event_type, to_json
from services.audit.store import EventIndex, StoreReader
from services.storage.application import CorridorApplication

Progress = Callable[[int, int], None]
"""Called with (positions done, positions in all) as the check goes."""


@dataclass
class _Anchor:
    version: int
    recorded: str
    digest: AnchorDigest


def verify_stream(app: CorridorApplication, stream_id: UUID, *, snapshots: bool = True,
                  max_breaks: int = 100) -> VerifyReport:
    """Check one stream's chain (and its snapshots); anchors need the whole store."""
    reader = StoreReader(app)
    rows = reader.stream_rows(stream_id)
    chain = reader.stream_chain(stream_id)
    if not rows and not chain:
        raise NotFound(f"no stream with id {stream_id}")
    checker = ChainChecker(max_breaks)
    for row in rows:
        checker.check(row)
    present = {row.event.originator_version for row in rows}
    for version, recorded in chain.items():
        if version not in present:
            checker.orphan(stream_id, version, recorded)
    checked, mismatches = check_snapshots(app, stream_id) if snapshots else (0, [])
    return _report("stream", checker, [], checked, mismatches, stream_id=stream_id,
                   last_position=max((r.position or 0 for r in rows), default=None))


def check_events(stream_id: UUID, rows: Sequence[ChainRow], orphans: Mapping[int, bytes], *,
                 from_version: int = 1, before: EventIndex | None = None,
                 max_breaks: int = 100) -> ChainCheck:
    """The chain over consecutive events of one stream from `from_version` on: each event's
    bytes, its link to the one before (`before` indexes version `from_version - 1`; None
    when that event is not stored), and the window's chain rows whose event is gone."""
    checker = ChainChecker(max_breaks)
    if from_version > 1:
        checker.resume(stream_id, from_version - 1, before.hash if before else None,
                       before.position if before else None, stored=before is not None)
    for row in rows:
        checker.check(row)
    for version, recorded in sorted(orphans.items()):
        checker.orphan(stream_id, version, recorded)
    return ChainCheck(intact=not checker.breaks, events_checked=checker.events_checked,
                      first_break=checker.first_break, breaks=checker.breaks,
                      breaks_truncated=checker.truncated)


def verify_store(app: CorridorApplication, *, batch: int = 2_000, snapshots: bool = False,
                 max_breaks: int = 100, progress: Progress | None = None) -> VerifyReport:
    """Check every event in store order, every anchor, and (if asked) every snapshot."""
    reader = StoreReader(app)
    anchors = load_anchors(app)
    total = reader.max_position()
    starts = [a.digest.from_position for a in anchors]
    checker = ChainChecker(max_breaks)
    after = 0
    while rows := reader.scan(after, batch, upto=total):
        for row in rows:
            recomputed = checker.check(row)
            position = row.position or 0
            slot = bisect.bisect_right(starts, position) - 1
            if slot >= 0 and anchors[slot].digest.covers(position):
                anchors[slot].digest.add(position, recomputed)
        after = rows[-1].position or after
        if progress is not None:
            progress(after, total)
    for stream_id, version, recorded in reader.orphaned_chain_rows(max_breaks):
        checker.orphan(stream_id, version, recorded)
    checks = [AnchorCheck(anchor_version=a.version, from_position=a.digest.from_position,
                          to_position=a.digest.to_position, recorded=a.recorded,
                          recomputed=a.digest.hexdigest(),
                          ok=a.digest.hexdigest() == a.recorded) for a in anchors]
    checked, mismatches = 0, list[SnapshotCheck]()
    if snapshots:
        for stream_id in reader.snapshot_stream_ids():
            count, found = check_snapshots(app, stream_id)
            checked, mismatches = checked + count, [*mismatches, *found]
    return _report("store", checker, checks, checked, mismatches, last_position=total or None)


def load_anchors(app: CorridorApplication) -> list[_Anchor]:
    """Every LogAnchored event, in position order; unreadable ones are skipped (the chain
    check names the altered event)."""
    anchors = []
    for stored in app.recorder.select_events(ANCHOR_LOG_ID):
        try:
            domain_event: Any = app.mapper.to_domain_event(stored)
        except Exception:  # altered bytes: reported by the chain check, not here
            continue
        if event_type(domain_event) == "LogAnchored":
            anchors.append(_Anchor(stored.originator_version, domain_event.digest,
                                   AnchorDigest(domain_event.from_position,
                                                domain_event.to_position)))
    return sorted(anchors, key=lambda a: a.digest.from_position)


def check_snapshots(app: CorridorApplication, stream_id: UUID) -> tuple[int, list[SnapshotCheck]]:
    """Rebuild the stream from its events and compare each snapshot with the rebuilt state."""
    if app.snapshots is None:
        return 0, []
    taken: dict[int, Any] = {s.originator_version: s for s in app.snapshots.get(stream_id)}
    if not taken:
        return 0, []
    mismatches: list[SnapshotCheck] = []
    aggregate: Any = None
    for stored in app.recorder.select_events(stream_id, lte=max(taken)):
        try:
            aggregate = app.mapper.to_domain_event(stored).mutate(aggregate)  # type: ignore[attr-defined]
        except Exception as error:
            mismatches.append(SnapshotCheck(stream_id=stream_id, version=stored.originator_version,
                                            detail=f"events cannot be replayed: {error}"))
            return len(taken), mismatches
        snapshot = taken.get(aggregate.version)
        if snapshot is not None and _fingerprint(snapshot.topic, snapshot.state) != \
                _fingerprint(*_taken_now(app, aggregate)):
            mismatches.append(SnapshotCheck(stream_id=stream_id, version=aggregate.version,
                                            detail="the snapshot differs from the state "
                                                   "rebuilt from the stream's events"))
    return len(taken), mismatches


def _taken_now(app: CorridorApplication, aggregate: Any) -> tuple[str, Any]:
    snapshot_class: Any = getattr(type(aggregate), "Snapshot", None) or app.snapshot_class
    snapshot = snapshot_class.take(aggregate)
    return snapshot.topic, snapshot.state


def _fingerprint(topic: str, state: Any) -> str:
    return canonical(to_json({"topic": topic, "state": state}, SealedForm()))


def _report(scope: str, checker: ChainChecker, anchors: list[AnchorCheck], snapshots: int,
            mismatches: list[SnapshotCheck], *, stream_id: UUID | None = None,
            last_position: int | None) -> VerifyReport:
    ok = not checker.breaks and all(a.ok for a in anchors) and not mismatches
    return VerifyReport(scope=scope,  # type: ignore[arg-type]
                        stream_id=stream_id, ok=ok, events_checked=checker.events_checked,
                        streams_checked=checker.streams_checked, last_position=last_position,
                        first_break=checker.first_break, breaks=checker.breaks,
                        breaks_truncated=checker.truncated, anchors=anchors,
                        snapshots_checked=snapshots, snapshot_mismatches=mismatches)
