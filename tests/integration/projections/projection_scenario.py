"""A deterministic network's day, written through the real domain and event store.

Volunteers register and train, resources are reported and verified, cases run from intake
to arrival (or get stuck, flagged, released, reassigned, closed and reopened), so every
read model sees every kind of event. Used by integration tests and the rebuild benchmark.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from uuid import UUID, uuid4

from domain.base import Meta
from domain.case import Case
from domain.contact import CONTACT_WATCH, ContactChannel
from domain.duplicates import POSSIBLE_DUPLICATE
from domain.intake import Intake
from domain.policies import HOLD_LAPSE
from domain.resource import Resource
from domain.roles import Authority, Role, policy_actor
from domain.seats import confirm_seats, hold_seats, lapse_seats, release_seats
from domain.transport import TransportOffer
from domain.vocabulary import Accepts, CaseOutcome, HoldEnd, ResourceKind
from domain.volunteer import Volunteer
from domain.windows import Window
from services.storage.application import CorridorApplication

START = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
REGIONS = ("kharkiv", "kyiv", "odesa", "dnipro")
OPERATOR = Authority(actor="operator", roles=frozenset({Role.ADMIN}))
"""An admin's credential naming no volunteer: registers the staff and logs their training."""


@dataclass
class Clock:
    """Business time that moves forward a little with every command."""

    now: datetime = START

    def tick(self, minutes: float = 0.5) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@dataclass
class Scenario:
    """Builds the network's history; `save` stores pending events and returns the position."""

    app: CorridorApplication
    seed: int = 7
    clock: Clock = field(default_factory=Clock)
    volunteers: list[Volunteer] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    last_position: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def meta(self, actor: object, minutes: float = 0.5) -> Meta:
        command = uuid4()
        return Meta(actor=str(actor), at=self.clock.tick(minutes), command_id=command,
                    correlation_id=command)

    def save(self, *aggregates: object) -> int:
        recordings = self.app.save(*aggregates)  # type: ignore[arg-type]
        if recordings:
            self.last_position = max(r.notification.id for r in recordings)
        return self.last_position

    # --- people and resources --------------------------------------------------------------

    def staff(self, volunteers: int = 6) -> None:
        """An admin-supervisor, a fact-checker, a psychologist and trained volunteers."""
        admin = self._register([Role.ADMIN, Role.SUPERVISOR, Role.VOLUNTEER], "admin")
        checker = self._register([Role.FACT_CHECKER, Role.VOLUNTEER], "checker")
        psychologist = self._register([Role.PSYCHOLOGIST, Role.VOLUNTEER], "psy")
        helpers = [self._register([Role.VOLUNTEER], f"v{i}") for i in range(volunteers)]
        for person in [admin, checker, psychologist, *helpers]:
            person.log_training(minutes=180, topic="safety", by=OPERATOR,
                                meta=self.meta(admin.id))
            person.log_training(minutes=150, topic="routes", by=OPERATOR,
                                meta=self.meta(admin.id))
        helpers[0].grant_role(role=Role.SUPERVISOR, by=admin, meta=self.meta(admin.id))
        self.volunteers = [admin, checker, psychologist, *helpers]
        self.save(*self.volunteers)

    def _register(self, roles: list[Role], name: str) -> Volunteer:
        vid = uuid4()
        return Volunteer.register(volunteer_id=vid, display_name=f"Person {name}",
                                  languages=["uk", "en"], time_zone="Europe/Kyiv", roles=roles,
                                  contact=f"+380-{name}", by=OPERATOR, meta=self.meta(vid))

    @property
    def admin(self) -> Volunteer:
        return self.volunteers[0]

    @property
    def checker(self) -> Volunteer:
        return self.volunteers[1]

    @property
    def psychologist(self) -> Volunteer:
        return self.volunteers[2]

    @property
    def helpers(self) -> list[Volunteer]:
        return self.volunteers[3:]

    def report_resources(self, count: int = 6) -> None:
        """Shelters, transport and routes, each reported by a helper and verified."""
        kinds = [ResourceKind.SHELTER, ResourceKind.TRANSPORT, ResourceKind.ROUTE]
        for i in range(count):
            kind = kinds[i % len(kinds)]
            reporter = self.helpers[i % len(self.helpers)]
            resource = Resource.report(
                resource_id=uuid4(), kind=kind, region=REGIONS[i % len(REGIONS)],
                place=f"{kind.value} {i}", details="checked by phone",
                capacity=20 if kind is ResourceKind.SHELTER else None,
                contact={"phone": f"+380-{i}"}, reporter=reporter, meta=self.meta(reporter.id))
            resource.verify(by=self.checker, meta=self.meta(self.checker.id))
            self.resources.append(resource)
        self.save(*self.resources)

    def shifts(self) -> None:
        """Every helper starts a shift; half of them end it hours later."""
        for i, person in enumerate(self.helpers):
            person.start_shift(meta=self.meta(person.id, 1))
            if i % 2:
                person.end_shift(meta=self.meta(person.id, 60 * (i + 1)))
        self.save(*self.helpers)

    # --- cases -----------------------------------------------------------------------------

    def open_case(self, **answers: object) -> Case:
        intake = Intake(**{
            "safe_now": self.rng.random() < 0.5, "region": self.rng.choice(REGIONS),
            "destination": "poland", "contact_channel": "telegram",
            "children_ages": [4] if self.rng.random() < 0.3 else [],
            "medical_needs": self.rng.random() < 0.2, "languages": ["uk"],
            "name": "Olena K.", "exact_location": "street 5, flat 2",
            "health_details": "insulin", **answers})  # type: ignore[arg-type]
        case = Case.open(case_id=uuid4(), person_id=uuid4(), intake=intake,
                         meta=self.meta("intake-bot"))
        self.cases.append(case)
        return case

    def journey(self, case: Case, helper: Volunteer) -> None:
        """Take, advise on a verified resource, travel, arrive, follow up, close."""
        resource = self.rng.choice(self._usable())
        case.take(volunteer=helper, meta=self.meta(helper.id))
        case.give_advice(text="wait for the bus at 9", by=helper, resources=[resource],
                         meta=self.meta(helper.id))
        case.add_note(text="has a cat", by=helper, meta=self.meta(helper.id))
        case.record_departure(by=helper, meta=self.meta(helper.id))
        case.record_checkpoint(checkpoint="km 40", by=helper, meta=self.meta(helper.id))
        if self.rng.random() < 0.3:
            case.record_stuck(place="km 52", reason="queue", by=helper, meta=self.meta(helper.id))
        case.record_border_crossing(crossing="shehyni", by=helper, meta=self.meta(helper.id))
        case.record_arrival(place="przemysl", by=helper, meta=self.meta(helper.id))
        case.record_follow_up(text="settled", by=helper, meta=self.meta(helper.id))
        case.close(outcome=CaseOutcome.EVACUATED, by=helper, meta=self.meta(helper.id))

    def troubles(self, case: Case, helper: Volunteer, other: Volunteer) -> None:
        """Flag and clear, release, reassign, support group, transport, still open."""
        flag = uuid4()
        case.take(volunteer=helper, meta=self.meta(helper.id))
        case.flag(flag_id=flag, reason="no answer", by=helper, meta=self.meta(helper.id))
        case.clear_flag(flag_id=flag, reason="answered", by=helper, meta=self.meta(helper.id))
        case.release(reason="going offline", by=helper, meta=self.meta(helper.id))
        case.assign(volunteer=other, by=self.admin, meta=self.meta(self.admin.id))
        case.form_support_group(psychologist=self.psychologist, members=[helper], by=other,
                                meta=self.meta(other.id))
        case.arrange_transport(resources=self._usable()[:2], description="minibus at noon",
                               by=other, meta=self.meta(other.id))
        case.flag(flag_id=uuid4(), reason="refuses to move", detail="needs time", by=other,
                  meta=self.meta(other.id))

    def _usable(self) -> list[Resource]:
        # Usable for the next hour at least, as the case's next steps happen a bit later.
        soon = self.clock.now + timedelta(hours=1)
        usable = [r for r in self.resources if r.is_usable(soon)]
        if len(usable) < 2:
            self._reverify()
            usable = [r for r in self.resources if r.is_usable(soon)]
        return usable

    def _reverify(self) -> None:
        """Verifications run out during a long day: the fact-checker renews them."""
        renewed = [r for r in self.resources if not r.is_withdrawn
                   and r.status.value == "available"]
        for resource in renewed:
            resource.verify(by=self.checker, meta=self.meta(self.checker.id))
        self.save(*renewed)

    def cases_round(self, count: int) -> None:
        """`count` cases: most travel to safety, some run into trouble, some wait."""
        for i in range(count):
            case = self.open_case()
            helper = self.helpers[i % len(self.helpers)]
            other = self.helpers[(i + 1) % len(self.helpers)]
            kind = i % 5
            if kind in (0, 1, 2):
                self.journey(case, helper)
            elif kind == 3:
                self.troubles(case, helper, other)
            self.save(case)

    def resource_changes(self) -> None:
        """One relied-on resource turns unsafe; a policy-style flag goes on a relying case."""
        resource = next(r for r in self.resources if r.kind is ResourceKind.TRANSPORT)
        resource.mark_unsafe(reason="shelling on the route", by=self.checker,
                             meta=self.meta(self.checker.id))
        self.save(resource)
        relying = [c for c in self.cases if c.is_active and c.relies_on(resource.id)]
        for case in relying:
            case.flag(flag_id=uuid4(), reason="resource_unsafe", by=None,
                      resource_id=resource.id, detail="shelling on the route",
                      meta=self.meta("policy:resource_recall"))
        if relying:
            self.save(*relying)

    def seats(self) -> None:
        """A car offering seats: open cases hold some; one confirms, one is a no-show, one
        lapses, the rest stay held."""
        car = Resource.report(
            resource_id=uuid4(), kind=ResourceKind.TRANSPORT, region=REGIONS[0],
            place="station square", details="minibus", reporter=self.helpers[0],
            contact={"name": "Driver Petro", "phone": "+380-99"}, meta=self.meta(
                self.helpers[0].id),
            transport=TransportOffer(seats=12, accepts=frozenset(Accepts), origin="kharkiv",
                                     destination="lviv"))
        car.verify(by=self.checker, meta=self.meta(self.checker.id))
        self.resources.append(car)
        holding = [self.open_case() for _ in range(4)]
        holds = []
        for i, case in enumerate(holding):
            by = self.helpers[i % len(self.helpers)]
            case.take(volunteer=by, meta=self.meta(by.id))
            hold_id = uuid4()
            hold_seats(case=case, transport=car, hold_id=hold_id, by=by,
                       meta=self.meta(by.id), seats=1)
            holds.append((case, by, hold_id))
        for step, (case, by, hold_id) in enumerate(holds[:3]):
            if step == 0:
                confirm_seats(case=case, transport=car, hold_id=hold_id, by=by,
                              meta=self.meta(by.id))
            elif step == 1:
                release_seats(case=case, transport=car, hold_id=hold_id, why=HoldEnd.NO_SHOW,
                              by=by, meta=self.meta(by.id))
            else:
                lapse_seats(case=case, transport=car, hold_id=hold_id,
                            meta=self.meta(policy_actor(HOLD_LAPSE), minutes=45))
        self.save(car, *holding)

    def windows(self) -> None:
        """A corridor open for two days and a checkpoint open daily: cases advised to use
        them, the checkpoint's hours changed, then cleared; the corridor's closing flagged."""
        corridor = self._windowed(ResourceKind.CORRIDOR, Window(
            opens_at=START, closes_at=START + timedelta(days=2)))
        checkpoint = self._windowed(ResourceKind.CHECKPOINT, Window(
            daily_from=time(0), daily_until=time(23, 59)))
        relying = []
        for i, resource in enumerate((corridor, checkpoint)):
            case, by = self.open_case(), self.helpers[i % len(self.helpers)]
            case.take(volunteer=by, meta=self.meta(by.id))
            case.give_advice(text="go in the morning", resources=[resource], by=by,
                             meta=self.meta(by.id))
            relying.append(case)
        checkpoint.set_window(window=Window(daily_from=time(6), daily_until=time(20)),
                              by=self.checker, meta=self.meta(self.checker.id))
        checkpoint.set_window(window=None, by=self.checker, meta=self.meta(self.checker.id))
        relying[0].flag(flag_id=uuid4(), reason="window_closing", by=None,
                        resource_id=corridor.id, closes_at=START + timedelta(days=2),
                        detail="the corridor closes in an hour",
                        meta=self.meta(policy_actor("window_watch")))
        self.save(corridor, checkpoint, *relying)

    def silence_and_duplicates(self) -> None:
        """Contact tried and made, a case gone silent (overdue, possibly lost), two cases of
        one person found, one pair told apart and one merged (issue 23)."""
        boss, helper = self.admin, self.helpers[0]
        quiet, twin, double, other = (self.open_case() for _ in range(4))
        for case in (quiet, twin, double, other):
            case.take(volunteer=helper, meta=self.meta(helper.id))
        quiet.record_contact(channel=ContactChannel.PHONE, reached=False, note="no answer",
                             by=helper, meta=self.meta(helper.id))
        since, watch = quiet.contact_since, policy_actor(CONTACT_WATCH)
        quiet.mark_contact_overdue(since=since, due_at=since, meta=self.meta(watch, 60))
        quiet.suspect_lost_contact(since=since, missed=3, meta=self.meta(watch, 120))
        twin.record_contact(channel=ContactChannel.TELEGRAM, reached=True, by=helper,
                            meta=self.meta(helper.id))
        found = policy_actor(POSSIBLE_DUPLICATE)
        for a, b in ((twin, double), (double, twin), (twin, other), (other, twin)):
            a.mark_possible_duplicate(other_case_id=b.id, matched_on=["phone"],
                                      meta=self.meta(found))
        twin.tell_apart(other_case_id=other.id, by=boss, meta=self.meta(boss.id))
        other.tell_apart(other_case_id=twin.id, by=boss, meta=self.meta(boss.id))
        double.merge_into(survivor=twin, by=boss, meta=self.meta(boss.id))
        twin.take_in(merged=double, by=boss, meta=self.meta(boss.id))
        self.save(quiet, twin, double, other)

    def _windowed(self, kind: ResourceKind, window: Window) -> Resource:
        resource = Resource.report(
            resource_id=uuid4(), kind=kind, region=REGIONS[1], place=f"{kind.value} east",
            details="agreed for civilians", reporter=self.helpers[0], window=window,
            meta=self.meta(self.helpers[0].id))
        resource.verify(by=self.checker, meta=self.meta(self.checker.id))
        self.resources.append(resource)
        return resource

    def full_day(self, cases: int = 20) -> int:
        """Staff, resources, shifts, cases, seats held on a car, windows and a recall;
        returns the last position."""
        self.staff()
        self.report_resources()
        self.shifts()
        self.cases_round(cases)
        self.seats()
        self.windows()
        self.silence_and_duplicates()
        self.resource_changes()
        return self.last_position


def batches(total: int, size: int) -> Iterator[int]:
    """Sizes of consecutive batches adding up to `total`."""
    while total > 0:
        yield min(size, total)
        total -= size


def new_ids(count: int) -> list[UUID]:
    return [uuid4() for _ in range(count)]
