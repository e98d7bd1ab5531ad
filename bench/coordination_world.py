"""A network in full swing, for measuring suggestions: open cases, volunteers on and off shift
in many time zones, resources of every kind (transports with seats, windows, some stale or
unsafe), written through the real domain and event store (sealed personal data, hash chain),
in chunks of one transaction each."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.base import Meta
from domain.case import Case
from domain.intake import Intake
from domain.resource import Resource
from domain.roles import Authority, Role
from domain.transport import TransportOffer
from domain.vocabulary import Accepts, ResourceKind
from domain.volunteer import Volunteer
from domain.windows import Window
from services.storage.application import CorridorApplication

REGIONS = ("Kharkiv oblast", "Kyiv oblast", "Odesa oblast", "Dnipro oblast", "Sumy oblast",
           "Chernihiv oblast", "Zaporizhzhia oblast", "Mykolaiv oblast", "Kherson oblast",
           "Donetsk oblast", "Luhansk oblast", "Poltava oblast", "Vinnytsia oblast",
           "Cherkasy oblast", "Kirovohrad oblast", "Zhytomyr oblast", "Rivne oblast",
           "Volyn oblast", "Khmelnytskyi oblast", "Ternopil oblast")
DESTINATIONS = ("Lviv", "Uzhhorod", "Chernivtsi", "Ivano-Frankivsk", "Poland", "Moldova",
                "Slovakia", "Romania")
ZONES = ("Europe/Kyiv", "Europe/Warsaw", "Europe/Berlin", "Europe/London", "America/New_York",
         "America/Toronto", "Asia/Tbilisi", "Asia/Jerusalem", "Europe/Lisbon", "Asia/Dubai")
LANGUAGES = ("uk", "ru", "en", "pl", "de", "ro")
KINDS = ((ResourceKind.TRANSPORT, 35), (ResourceKind.SHELTER, 25), (ResourceKind.FOOD_POINT, 8),
         (ResourceKind.MEDICINE, 8), (ResourceKind.CORRIDOR, 6), (ResourceKind.CHECKPOINT, 6),
         (ResourceKind.BORDER_CROSSING, 4), (ResourceKind.CURFEW, 3), (ResourceKind.ROUTE, 5))
OPERATOR = Authority(actor="bench-operator", roles=frozenset({Role.ADMIN}))
CHUNK = 400


@dataclass
class Population:
    """What was written: ids to ask about and to act with."""

    supervisor: UUID
    open_cases: list[UUID] = field(default_factory=list)
    volunteers: list[UUID] = field(default_factory=list)
    resources: list[UUID] = field(default_factory=list)
    roomy_transports: list[UUID] = field(default_factory=list)
    """Verified transports taking everyone with many seats (for the hold measurement)."""
    events: int = 0


class World:
    """Builds the population at business time `now` (verifications fresh for the run)."""

    def __init__(self, app: CorridorApplication, now: datetime, seed: int = 22) -> None:
        self.app, self.now, self.rng = app, now, random.Random(seed)

    def meta(self, actor: object, at: datetime | None = None) -> Meta:
        command = uuid4()
        return Meta(actor=str(actor), at=at or self.now, command_id=command,
                    correlation_id=command)

    def save(self, aggregates: Sequence[Any]) -> int:
        stored = 0
        for start in range(0, len(aggregates), CHUNK):
            stored += len(self.app.save(*aggregates[start:start + CHUNK]))
        return stored

    def populate(self, cases: int, volunteers: int, resources: int) -> Population:
        """Write the volunteers, the resources and the open cases (some taken)."""
        boss = self._register([Role.SUPERVISOR, Role.VOLUNTEER, Role.FACT_CHECKER], "uk,en")
        checker = self._register([Role.FACT_CHECKER, Role.VOLUNTEER], "uk")
        people = [self._volunteer(boss) for _ in range(volunteers)]
        population = Population(supervisor=boss.id)
        population.events += self.save([boss, checker, *people])
        population.volunteers = [p.id for p in people]
        active = [p for p in people if p.standing.value == "active"]
        made = [self._resource(active[i % len(active)], checker, population)
                for i in range(resources)]
        population.events += self.save(made)
        population.resources = [r.id for r in made]
        opened = list(self._cases(cases, active))
        population.events += self.save(opened)
        population.open_cases = [c.id for c in opened]
        return population

    def _register(self, roles: list[Role], languages: str,
                  time_zone: str = "Europe/Kyiv") -> Volunteer:
        vid = uuid4()
        person = Volunteer.register(volunteer_id=vid, display_name=f"Volunteer {vid.hex[:6]}",
                                    languages=languages.split(","), time_zone=time_zone,
                                    roles=roles, contact="+380 00 000 0000", by=OPERATOR,
                                    meta=self.meta(OPERATOR.actor, self.now - timedelta(days=3)))
        person.log_training(minutes=300, topic="casework", by=OPERATOR,
                            meta=self.meta(OPERATOR.actor, self.now - timedelta(days=3)))
        return person

    def _volunteer(self, boss: Volunteer) -> Volunteer:
        rng = self.rng
        languages = ",".join(rng.sample(LANGUAGES, rng.randint(1, 3)))
        person = self._register([Role.VOLUNTEER], languages, rng.choice(ZONES))
        if rng.random() < 0.5:  # on shift since some hours ago
            person.start_shift(meta=self.meta(person.id, self.now - timedelta(
                hours=rng.uniform(0.2, 13))))
        elif rng.random() < 0.1:
            person.suspend(reason="complaint under review", by=boss, meta=self.meta(boss.id))
        return person

    def _resource(self, reporter: Volunteer, checker: Volunteer,
                  population: Population) -> Resource:
        rng = self.rng
        kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
        region = rng.choice(REGIONS)
        offer = window = None
        if kind is ResourceKind.TRANSPORT:
            offer = TransportOffer(
                seats=rng.choice((1, 2, 3, 4, 4, 7, 20, 50)),
                accepts=frozenset(a for a in Accepts if rng.random() < 0.6),
                departs_until=self.now + timedelta(hours=rng.uniform(2, 48)), origin=region,
                destination=rng.choice(DESTINATIONS))
        elif kind in (ResourceKind.CORRIDOR, ResourceKind.CHECKPOINT,
                      ResourceKind.BORDER_CROSSING, ResourceKind.CURFEW):
            window = self._window()
        resource = Resource.report(
            resource_id=uuid4(), kind=kind, region=region,
            place=f"{kind.value} {rng.random():.4f}",
            details="checked by phone", reporter=reporter,
            capacity=rng.randint(10, 200) if kind is ResourceKind.SHELTER else None,
            contact={"name": "Contact", "phone": "+380 00"} if rng.random() < 0.5 else None,
            transport=offer, window=window, meta=self.meta(reporter.id,
                                                           self.now - timedelta(minutes=30)))
        if rng.random() < 0.9:
            resource.verify(by=checker, meta=self.meta(checker.id, self.now - timedelta(
                minutes=rng.uniform(1, 20))))
        if rng.random() < 0.05:
            resource.mark_unsafe(reason="shelling nearby", by=reporter,
                                 meta=self.meta(reporter.id))
        if (offer is not None and offer.seats >= 20 and len(offer.accepts) == len(Accepts)
                and resource.is_usable(self.now)):
            population.roomy_transports.append(resource.id)
        return resource

    def _window(self) -> Window:
        rng = self.rng
        if rng.random() < 0.5:
            start = rng.randint(0, 23)
            return Window(daily_from=time(start), daily_until=time((start + rng.randint(
                4, 16)) % 24), time_zone="Europe/Kyiv")
        opens = self.now + timedelta(hours=rng.uniform(-6, 6))
        return Window(opens_at=opens, closes_at=opens + timedelta(hours=rng.uniform(1, 12)))

    def _cases(self, count: int, cleared: list[Volunteer]) -> Iterator[Case]:
        rng = self.rng
        for _ in range(count):
            intake = Intake(
                safe_now=rng.random() < 0.6, region=rng.choice(REGIONS),
                destination=rng.choice(DESTINATIONS), contact_channel="telegram",
                adults=rng.randint(1, 3), children_ages=[rng.randint(0, 17) for _ in range(
                    rng.choice((0, 0, 1, 2, 3)))], pets=rng.choice((0, 0, 0, 1)),
                mobility_needs=rng.random() < 0.1, medical_needs=rng.random() < 0.15,
                languages=rng.choice((["uk"], ["ru"], ["uk", "en"], ["uk", "ru"])),
                name="Someone", contact_handle="@someone")
            case = Case.open(case_id=uuid4(), person_id=uuid4(), intake=intake,
                             meta=self.meta("intake-bot", self.now - timedelta(hours=2)))
            if rng.random() < 0.4:
                holder = rng.choice(cleared)
                case.take(volunteer=holder, meta=self.meta(holder.id, self.now - timedelta(
                    hours=1)))
            yield case
