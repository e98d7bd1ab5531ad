"""The process manager: follows the store in order, keeps the few facts the domain's policies
look up (which active cases rely on a resource, whose cases and standing reports a volunteer
has, which verifications run out when), and carries out the policies' follow-up commands
through the writer.

Follow-ups have deterministic command ids, so re-running the reactions after a crash returns
the stored outcomes instead of acting twice; the position is saved once they are answered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol
from uuid import UUID, uuid5
from zoneinfo import ZoneInfoNotFoundError

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.base import Meta
from domain.case import Case
from domain.clock import Clock
from domain.contact import CONTACT_WATCH, DEFAULT_CONTACT_INTERVALS
from domain.follow_ups import (
    ExpireVerification,
    FlagCase,
    FollowUpCommand,
    LapseHold,
    ReleaseCase,
    ReleaseHold,
    RetractResource,
)
from domain.policies import (
    HOLD_LAPSE,
    POLICY_NAMESPACE,
    WINDOW_LEAD,
    WINDOW_WATCH,
    WatchedWindow,
    expire_due,
    lapse_due,
    react,
    watch_windows,
)
from domain.resource import Resource
from domain.roles import policy_actor
from domain.seats import lapse_seats, release_seats
from domain.vocabulary import HoldEnd, Urgency
from domain.volunteer import Volunteer
from domain.windows import Window
from projections.backoff import Backoff
from services.clock import now
from services.commands.windows import zone
from services.runtime.outcomes import Outcome
from services.runtime.silence import (
    SILENCE_FOLLOW_UPS,
    SilenceFollowUp,
    SilenceWatch,
    silence_topics,
)
from services.runtime.silence import carry_out as carry_out_silence
from services.runtime.unit_of_work import UnitOfWork
from services.runtime.writer import CommandWriter, Submission
from services.storage.application import CorridorApplication

log = logging.getLogger("corridor.reactions")
NAME = "reactions"


def _relevant_topics() -> list[str]:
    """Only events the index or a policy reads: skipping the rest keeps this cheap."""
    case_events = ("TransportArranged", "AdviceGiven", "CaseTaken", "CaseAssigned",
                   "CaseReleased", "CaseClosed", "CaseReopened", "TransportSeatsHeld")
    names = [getattr(Case, n) for n in case_events] + [Volunteer.VolunteerBanned]  # type: ignore[attr-defined]
    names += [v for v in vars(Resource).values()
              if isinstance(v, type) and issubclass(v, Resource.Event)]
    names.append(Clock.ClockTicked)  # type: ignore[attr-defined]
    return sorted({get_topic(cls) for cls in names} | set(silence_topics()))


def _discard(index: dict[UUID, set[UUID]], key: UUID, member: UUID) -> None:
    """Take `member` out of the set at `key`, and the key out once its set is empty."""
    members = index.get(key)
    if members is not None:
        members.discard(member)
        if not members:
            del index[key]


class PolicyIndex:
    """The facts the policies need, kept current event by event (implements PolicyLookups).

    Bounded by what is live, not by what happened: a closed case, a released or lapsed hold
    and a withdrawn resource leave every table (an empty set leaves with its key), so a
    network that runs for months holds only its open cases, holds and standing resources.
    """

    def __init__(self) -> None:
        self.relying: dict[UUID, set[UUID]] = defaultdict(set)
        self.case_resources: dict[UUID, set[UUID]] = defaultdict(set)
        self.assigned: dict[UUID, set[UUID]] = defaultdict(set)
        self.assignee: dict[UUID, UUID] = {}
        self.reports: dict[UUID, set[UUID]] = defaultdict(set)
        """Each volunteer's reports that still stand (a ban retracts them): all but the
        retracted and destroyed ones (a rejected report may yet be verified)."""
        self.reporter: dict[UUID, UUID] = {}
        self.expires: dict[UUID, datetime] = {}
        self.holds: dict[UUID, set[UUID]] = defaultdict(set)
        """Seat holds (held or confirmed) on each transport."""
        self.hold_until: dict[tuple[UUID, UUID], datetime] = {}
        """When each unconfirmed hold runs out, by (transport, hold)."""
        self.windows: dict[UUID, Window] = {}
        """Opening windows of resources (not withdrawn ones)."""
        self.relying_since: dict[tuple[UUID, UUID], datetime] = {}
        """When each active case began to rely on a resource, by (resource, case)."""

    def active_cases_relying_on(self, resource_id: UUID) -> Iterable[UUID]:
        return set(self.relying.get(resource_id, ()))

    def reports_by(self, volunteer_id: UUID) -> Iterable[UUID]:
        return set(self.reports.get(volunteer_id, ()))

    def active_cases_of(self, volunteer_id: UUID) -> Iterable[UUID]:
        return set(self.assigned.get(volunteer_id, ()))

    def due(self, at: datetime) -> list[UUID]:
        return [r for r, until in self.expires.items() if until <= at]

    def holds_on(self, resource_id: UUID) -> Iterable[UUID]:
        return set(self.holds.get(resource_id, ()))

    def transports_with_lapsing_holds(self, at: datetime) -> list[UUID]:
        return sorted({r for (r, _), until in self.hold_until.items() if until <= at})

    def apply(self, event: Any) -> None:
        name, sid = type(event).__name__, event.originator_id
        if isinstance(event, Case.Event):
            self._apply_case(name, sid, event)
        elif isinstance(event, Resource.Event):
            self._apply_resource(name, sid, event)

    def _apply_case(self, name: str, case_id: UUID, event: Any) -> None:
        if name in ("TransportArranged", "AdviceGiven", "TransportSeatsHeld"):
            held = [event.resource_id] if name == "TransportSeatsHeld" else []
            for resource_id in [*getattr(event, "resource_ids", ()), *held]:
                self.relying[resource_id].add(case_id)
                self.case_resources[case_id].add(resource_id)
                self.relying_since.setdefault((resource_id, case_id), event.meta.at)
        elif name == "CaseTaken" or name == "CaseAssigned":
            self._assign(case_id, event.volunteer_id)
        elif name == "CaseReleased":
            self._unassign(case_id)
        elif name == "CaseClosed":
            self._unassign(case_id)
            for resource_id in self.case_resources.pop(case_id, set()):
                _discard(self.relying, resource_id, case_id)
                self.relying_since.pop((resource_id, case_id), None)
        elif name == "CaseReopened" and event.assignee_id is not None:
            self._assign(case_id, event.assignee_id)

    def _assign(self, case_id: UUID, volunteer_id: UUID) -> None:
        self._unassign(case_id)
        self.assignee[case_id] = volunteer_id
        self.assigned[volunteer_id].add(case_id)

    def _unassign(self, case_id: UUID) -> None:
        previous = self.assignee.pop(case_id, None)
        if previous is not None:
            _discard(self.assigned, previous, case_id)

    def _apply_resource(self, name: str, resource_id: UUID, event: Any) -> None:
        if name == "ResourceReported":
            self.reporter[resource_id] = event.reported_by
            self.reports[event.reported_by].add(resource_id)
            return
        if name in ("SeatsHeld", "HoldConfirmed", "HoldReleased", "HoldLapsed"):
            self._apply_hold(name, resource_id, event)
            return
        if name in ("ResourceRetracted", "ResourceDestroyed"):  # withdrawn for good
            reporter = self.reporter.pop(resource_id, None)
            if reporter is not None:
                _discard(self.reports, reporter, resource_id)
        if name == "ResourceVerified":
            self.expires[resource_id] = event.expires_at
        elif name in ("VerificationExpired", "ResourceRejected", "ResourceRetracted",
                      "ResourceDestroyed"):
            self.expires.pop(resource_id, None)
        if name == "WindowSet":
            self.windows[resource_id] = Window.from_event(vars(event)) or Window()
        elif name in ("WindowCleared", "ResourceRetracted", "ResourceDestroyed"):
            self.windows.pop(resource_id, None)

    def _apply_hold(self, name: str, resource_id: UUID, event: Any) -> None:
        key = (resource_id, event.hold_id)
        if name == "SeatsHeld":
            self.holds[resource_id].add(event.hold_id)
            self.hold_until[key] = event.until
            return
        self.hold_until.pop(key, None)
        if name != "HoldConfirmed":
            _discard(self.holds, resource_id, event.hold_id)

    def size(self) -> int:
        """Entries in all its tables (each member of a set counts), for its bound's tests."""
        sets = (self.relying, self.case_resources, self.assigned, self.reports, self.holds)
        flat = (self.assignee, self.reporter, self.expires, self.hold_until, self.windows,
                self.relying_since)
        return (sum(len(index) + sum(map(len, index.values())) for index in sets)
                + sum(len(table) for table in flat))


def _carry_out_on_hold(command: ReleaseHold | LapseHold, uow: UnitOfWork, meta: Meta) -> UUID:
    """Release or lapse a hold on its transport and its case; nothing once it is gone (or,
    for a lapse, confirmed meanwhile): a re-run after the fact changes nothing."""
    transport = uow.get(Resource, command.resource_id)
    hold = transport.hold(command.hold_id)
    if hold is None or (isinstance(command, LapseHold) and hold["confirmed"]):
        return transport.id
    case = uow.get(Case, hold["case_id"])
    if isinstance(command, ReleaseHold):
        release_seats(case=case, transport=transport, hold_id=command.hold_id,
                      why=HoldEnd.RECALLED, by=None, meta=meta)
    else:
        lapse_seats(case=case, transport=transport, hold_id=command.hold_id, meta=meta)
    return transport.id


def follow_up_handler(command: FollowUpCommand) -> Any:
    """The writer handler that carries out one follow-up on its aggregate."""

    def handle(_: Any, uow: UnitOfWork, meta: Meta) -> UUID:
        if isinstance(command, ReleaseHold | LapseHold):
            return _carry_out_on_hold(command, uow, meta)
        if isinstance(command, SilenceFollowUp):
            return carry_out_silence(command, uow, meta)
        if isinstance(command, FlagCase):
            case = uow.get(Case, command.case_id)
            case.flag(flag_id=command.flag_id, reason=command.reason, detail=command.detail,
                      resource_id=command.resource_id, closes_at=command.closes_at, by=None,
                      meta=meta)
            return case.id
        if isinstance(command, ReleaseCase):
            case = uow.get(Case, command.case_id)
            if case.is_assigned_to(command.volunteer_id):
                case.release(reason=command.reason, by=None, meta=meta)
            return case.id
        resource = uow.get(Resource, command.resource_id)
        if isinstance(command, RetractResource):
            resource.retract(reason=command.reason, by=None, meta=meta)
        elif isinstance(command, ExpireVerification):
            resource.expire(meta=meta)
        return resource.id

    return handle


def submission_for(command: FollowUpCommand) -> Submission:
    return Submission(command_id=command.meta.command_id, name=type(command).__name__,
                      payload=None, meta=command.meta, handler=follow_up_handler(command))


class FollowUpSender(Protocol):
    """Carries follow-ups out: in this process's writer (LocalFollowUps) or in the writer
    process of `serve --workers` (services.runtime.ipc.RemoteFollowUps)."""

    def carry_out(self, commands: Sequence[FollowUpCommand]) -> list[Outcome]: ...


class LocalFollowUps:
    """Follow-ups through this process's command writer."""

    def __init__(self, writer: CommandWriter) -> None:
        self.writer = writer

    def carry_out(self, commands: Sequence[FollowUpCommand]) -> list[Outcome]:
        futures: list[Future[Outcome]] = [self.writer.submit(submission_for(c))
                                          for c in commands]
        return [f.result(timeout=60) for f in futures]


FOLLOW_UP_TURN = 16
"""Follow-ups handed to the writer at once. A tick that finds thousands of cases gone silent
would otherwise queue them all ahead of the coordinators' commands, and a coordinator's next
command waited behind the whole burst. In turns, the commands sent meanwhile join the next
batch, behind one turn at most; the burst takes longer, and matters less than they do."""


def carry_out_in_turns(sender: FollowUpSender, commands: Sequence[FollowUpCommand],
                       turn: int = FOLLOW_UP_TURN) -> list[Outcome]:
    """Carry follow-ups out `turn` at a time, in order, each turn answered before the next."""
    outcomes: list[Outcome] = []
    for start in range(0, len(commands), turn):
        outcomes.extend(sender.carry_out(commands[start:start + turn]))
    return outcomes


FOLLOW_UPS: dict[str, type[Any]] = {cls.__name__: cls for cls in (
    FlagCase, ReleaseCase, RetractResource, ExpireVerification, ReleaseHold, LapseHold,
    *SILENCE_FOLLOW_UPS)}
"""The follow-up commands by name, as they travel between processes."""


class PositionStore:
    """The reactions' position, in the event store's own database (its table is made by
    the store's migrations, services.storage.migrations)."""

    def __init__(self, app: CorridorApplication) -> None:
        self._ds: Any = app.factory.datastore  # type: ignore[attr-defined]
        self._pg = hasattr(self._ds, "schema")
        self._table = f"{self._ds.schema}.reaction_positions" if self._pg else "reaction_positions"

    def _run(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self._pg:
            with self._ds.get_connection() as conn:
                cur = conn.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        with self._ds.transaction(commit=True) as c:
            c.execute(sql.replace("%s", "?"), params)
            return list(c.fetchall())

    def load(self) -> int:
        rows = self._run(f"SELECT position FROM {self._table} WHERE name = %s", (NAME,))
        if not rows:
            return 0
        row = rows[0]
        return int(row["position"] if isinstance(row, dict) else row[0])

    def save(self, position: int) -> None:
        self._run(f"INSERT INTO {self._table} (name, position) VALUES (%s, %s) ON CONFLICT "
                  "(name) DO UPDATE SET position = excluded.position", (NAME, position))


RELEVANT_TOPICS = _relevant_topics()

GATHER_SECONDS = 0.01
"""How long woken reactions wait for more commits before they read (bounds the added lag)."""


MAX_REMEMBERED = 100_000


def _zone(name: str) -> tzinfo:
    try:
        return zone(name)
    except (ZoneInfoNotFoundError, ValueError):  # checked when set: only if the machine
        return UTC                               # lacks a zone another one knew


def _tick_meta(policy: str, at: datetime) -> Meta:
    tick_id = uuid5(POLICY_NAMESPACE, f"tick/{at.isoformat()}")
    return Meta(actor=policy_actor(policy), at=at, command_id=tick_id, correlation_id=tick_id)


class Reactions:
    """Runs the policies in a background thread of the service process."""

    def __init__(self, app: CorridorApplication, sender: FollowUpSender, *,
                 poll_seconds: float = 1.0, tick_seconds: float = 30.0,
                 save_every_seconds: float = 1.0,
                 gather_seconds: float = GATHER_SECONDS,
                 window_lead_minutes: float = WINDOW_LEAD.total_seconds() / 60,
                 contact_intervals: Mapping[Urgency, timedelta] = DEFAULT_CONTACT_INTERVALS,
                 ) -> None:
        self.app, self.sender = app, sender
        self.silence = SilenceWatch(contact_intervals, urgency_of=self._urgency_of)
        """Contact intervals by urgency and the duplicate watch (issue 23)."""
        self.window_lead = timedelta(minutes=window_lead_minutes)
        """How long before a window closes its cases are flagged."""
        self._window_flags_sent: set[UUID] = set()
        """Command ids of window flags sent: each tick before a closing would send them
        again (the receipts would answer them, at a round trip each)."""
        self.index = PolicyIndex()
        self.positions = PositionStore(app)
        self.acted_up_to = self.positions.load()
        self.seen_up_to = 0
        self.poll_seconds, self.tick_seconds = poll_seconds, tick_seconds
        self._stop = threading.Event()
        self._news = threading.Event()
        self.gather_seconds = gather_seconds
        self._thread = threading.Thread(target=self._run, name="reactions", daemon=True)
        self._last_tick = 0.0
        self.save_every_seconds = save_every_seconds
        self._saved_at = 0.0
        self.backoff = Backoff("reactions", log)

    def start(self) -> None:
        self._thread.start()

    def nudge(self) -> None:
        """New events were stored (thread-safe; the writer's commit or the store's NOTIFY):
        look at once instead of at the next poll. A recall flags its cases this much
        sooner."""
        self._news.set()

    def stop(self) -> None:
        self._stop.set()
        self._news.set()
        self._thread.join(timeout=30)
        if self.acted_up_to:
            try:
                self.positions.save(self.acted_up_to)
            except Exception:  # the store may be gone at shutdown; the position is a hint
                log.warning("could not save the reactions' position at shutdown")

    def step(self) -> int:
        """Process what is new in the store once; returns how many events were read."""
        batch = self.app.recorder.select_notifications(start=self.seen_up_to + 1, limit=500,
                                                       topics=RELEVANT_TOPICS)
        follow_ups: list[FollowUpCommand] = []
        for notification in batch:
            event = self._decode(notification)
            if notification.id > self.acted_up_to:
                follow_ups.extend(react(event, self.index))
                self.silence.notice(event)
                if type(event).__name__ == "ClockTicked":  # an admin told the time
                    follow_ups.extend(self.due_by(event.at))
            self.index.apply(event)
            self.silence.apply(event)
            self.seen_up_to = notification.id
        follow_ups.extend(self.silence.duplicates(self.app.blind_index))
        if follow_ups:
            self._carry_out(follow_ups)
        if batch and self.seen_up_to > self.acted_up_to:
            self.acted_up_to = self.seen_up_to
            self._save_position(force=bool(follow_ups))
        return len(batch)

    def _save_position(self, *, force: bool) -> None:
        """At most once a second unless follow-ups were carried out: a position saved late
        only means re-reading some events after a restart, and the follow-ups they cause
        again have the same command ids, so their receipts answer them (nothing twice)."""
        if force or time.monotonic() - self._saved_at >= self.save_every_seconds:
            self.positions.save(self.acted_up_to)
            self._saved_at = time.monotonic()

    def tick(self, at: datetime | None = None) -> list[Outcome]:
        """Expire every verification and lapse every unconfirmed seat hold that has run out
        by `at` (default: now), flag the cases relying on a window that closes within the
        lead time or has closed, and mark the active cases gone silent (contact overdue after
        one interval of their urgency, possible lost contact after three)."""
        commands = self.due_by(at or now())
        return self._carry_out(commands) if commands else []

    def due_by(self, at: datetime) -> list[FollowUpCommand]:
        """What a tick at `at` carries out (also a tick an admin told: `clock.tick`)."""
        return [*self._expiries(at), *self._lapses(at), *self._window_flags(at),
                *self.silence.due_by(_tick_meta(CONTACT_WATCH, at))]

    def _expiries(self, at: datetime) -> list[ExpireVerification]:
        due = self.index.due(at)
        if not due:
            return []
        resources: list[Resource] = [self.app.readers.get(r) for r in due]
        return expire_due(resources, _tick_meta("verification_expiry", at))

    def _lapses(self, at: datetime) -> list[LapseHold]:
        due = self.index.transports_with_lapsing_holds(at)
        if not due:
            return []
        transports: list[Resource] = [self.app.readers.get(r) for r in due]
        return lapse_due(transports, _tick_meta(HOLD_LAPSE, at))

    def _window_flags(self, at: datetime) -> list[FlagCase]:
        """Flags for the cases relying on a window that closes within the lead time or has
        closed (each sent once by this process; receipts answer a repeat after a restart)."""
        index = self.index
        watched = [WatchedWindow(resource_id=r, window=w, zone=_zone(w.time_zone),
                                 relying={c: index.relying_since.get((r, c), at)
                                          for c in index.relying.get(r, ())})
                   for r, w in index.windows.items() if index.relying.get(r)]
        flags = [f for f in watch_windows(watched, _tick_meta(WINDOW_WATCH, at),
                                          self.window_lead)
                 if f.meta.command_id not in self._window_flags_sent]
        if len(self._window_flags_sent) > MAX_REMEMBERED:
            self._window_flags_sent.clear()
        self._window_flags_sent.update(f.meta.command_id for f in flags)
        return flags

    def _urgency_of(self, case_id: UUID) -> Urgency:
        case: Case = self.app.readers.get(case_id)
        return case.urgency

    def _carry_out(self, commands: Sequence[FollowUpCommand]) -> list[Outcome]:
        return carry_out_in_turns(self.sender, commands)

    def _decode(self, notification: Notification) -> Any:
        return self.app.mapper.to_domain_event(notification)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                read = self.step()
                if time.monotonic() - self._last_tick >= self.tick_seconds:
                    self._last_tick = time.monotonic()
                    self.tick()
                self.backoff.succeeded()
            except Exception as error:
                self.backoff.pause_blocking(error, self._stop)
                continue  # at once: what failed is still there to read
            if read == 0:
                self._wait_for_news()

    def _wait_for_news(self) -> None:
        """Until nudged (or the poll interval ends); then a moment more, so that under
        load one step covers many commits rather than one each."""
        if self._news.wait(self.poll_seconds) and not self._stop.is_set():
            self._stop.wait(self.gather_seconds)
        self._news.clear()
