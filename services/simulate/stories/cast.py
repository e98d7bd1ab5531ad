"""The network at the start of the day (who is registered, trained and on which resources it
can count) and every story of the day, started on the engine."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from services.simulate import people
from services.simulate.commands import ADMIN, Command, command, new_id
from services.simulate.engine import Engine
from services.simulate.stories import coordination, hazards, seats, staff
from services.simulate.stories.common import Plot
from services.simulate.world import Member, ResourceFile, World

FRONT = tuple(people.REGIONS)


@dataclass(frozen=True)
class Scenario:
    """The day's size: how many ask for help and who is there to answer."""

    seed: int = 2022
    requests_per_day: float = 300
    volunteers: int = 48
    supervisors: int = 5
    fact_checkers: int = 4
    psychologists: int = 2
    trainees: int = 3
    trolls: int = 3
    shellings_per_day: float = 4.0
    """Before most daytime ones are dropped: about 2.4 a day, mostly at night."""

    @classmethod
    def sized_for(cls, clients: int, seed: int = 2022) -> Scenario:
        """A network big enough to keep `clients` concurrent senders busy (the benchmark)."""
        scale = max(1, clients // 8)
        return cls(seed=seed, requests_per_day=300 * scale, volunteers=48 * scale,
                   supervisors=5 * scale, fact_checkers=4 * scale)


def new_world(scenario: Scenario, start: datetime) -> World:
    """The network's members as registered at the start of the day (not sent yet)."""
    rng = random.Random(f"{scenario.seed}/network")
    world = World(start=start, rng=rng)
    groups = (("admin", ("admin",), 1, False),
              ("supervisor", ("supervisor", "volunteer"), scenario.supervisors, True),
              ("fact_checker", ("fact_checker",), scenario.fact_checkers, False),
              ("psychologist", ("psychologist", "volunteer"), scenario.psychologists, True),
              ("volunteer", ("volunteer",), scenario.volunteers, True),
              ("trainee", ("volunteer",), scenario.trainees, False))
    for _, roles, count, trained in groups:
        for _ in range(count):
            who = people.person(rng, 30_000 + len(world.members))
            member = Member(id=new_id(rng), name=who.name, roles=roles, trained=trained,
                            time_zone=rng.choice(people.TIME_ZONES),
                            languages=rng.choice((("uk",), ("uk", "en"), ("uk", "ru", "en"),
                                                  ("ru", "en"), ("uk", "pl"))))
            world.members[member.id] = member
            world.keep_personal(who.name, who.phone)
    return world


def setup_phases(world: World) -> list[list[Command]]:
    """Commands creating the start of the day, in phases; those within a phase are
    independent: registrations, then training and the supervisors' reports, then the
    fact-checkers' verifications."""
    rng = world.rng
    register = [command("setup", "/volunteers/register", ADMIN, rng, volunteer_id=m.id,
                        display_name=m.name, languages=list(m.languages),
                        time_zone=m.time_zone, roles=list(m.roles),
                        contact=f"{m.name.split()[0].lower()}.{m.id.hex[:6]}@example.org")
                for m in world.members.values()]
    for c in register:
        world.keep_personal(c.body["contact"])
    train = [command("setup", "/volunteers/log-training", ADMIN, rng, volunteer_id=m.id,
                     minutes=300, topic="casework basics")
             for m in world.members.values() if m.trained]
    supervisors = world.by_role("supervisor")
    checkers = world.by_role("fact_checker")
    resources = starting_resources(world, rng, supervisors)
    reports = [_report(r, rng, world) for r in resources]
    verify = [command("setup", "/resources/verify", checkers[i % len(checkers)].actor, rng,
                      resource_id=r.id) for i, r in enumerate(resources)]
    for r in resources:
        r.verified = True
        world.resources[r.id] = r
    return [register, train + reports, verify]


def starting_resources(world: World, rng: random.Random,
                       supervisors: list[Member]) -> list[ResourceFile]:
    """In each region near the front: two transports, a route, a shelter, a food point; and a
    few medicine points, border crossings and hotlines."""
    kinds = ("transport", "transport", "route", "shelter", "food_point")
    found = [ResourceFile(id=new_id(rng), kind=kind, region=region,
                          reporter=supervisors[(i + j) % len(supervisors)])
             for i, region in enumerate(FRONT) for j, kind in enumerate(kinds)]
    found += [ResourceFile(id=new_id(rng), kind=kind, region=rng.choice(FRONT),
                           reporter=rng.choice(supervisors))
              for kind in ("medicine", "medicine", "border_crossing", "contact")]
    if coordination.corridors(world):
        found += [ResourceFile(id=new_id(rng), kind="corridor", region=region,
                               reporter=supervisors[i % len(supervisors)])
                  for i, region in enumerate(FRONT[:5])]
    for resource in found:
        if resource.kind == "shelter":
            resource.capacity = rng.choice((20, 40, 80))
    return found


def _report(resource: ResourceFile, rng: random.Random, world: World) -> Command:
    resource.details = rng.choice(staff.DETAILS[resource.kind])
    fields: dict[str, object] = {"kind": resource.kind, "region": resource.region,
                                 "place": resource.region, "details": resource.details,
                                 **seats.offer(world, resource, resource.details),
                                 **coordination.window_of(world, resource)}
    if resource.capacity is not None:
        fields["capacity"] = resource.capacity
    if resource.kind in staff.WITH_CONTACT:
        someone = people.person(rng, 40_000 + len(world.personal))
        resource.contact_id = new_id(rng)
        fields["contact"] = {"name": someone.name, "phone": someone.phone,
                             "subject_id": resource.contact_id}
        world.keep_personal(someone.name, someone.phone)
    return command("setup", "/resources/report", resource.reporter.actor, rng,
                   resource_id=resource.id, **fields)


def cast(world: World, engine: Engine, scenario: Scenario, hours: float) -> None:
    """Start every story of the day on the engine."""
    seed = scenario.seed

    def plot(name: str) -> Plot:
        return Plot(world, engine, name, seed)

    engine.spawn("intake", hazards.intake(plot("intake"), scenario.requests_per_day))
    engine.spawn("shelling", hazards.shelling(plot("shelling"), scenario.shellings_per_day))
    engine.spawn("shelters", hazards.shelters_filling(plot("shelters")))
    engine.spawn("curfew", hazards.curfew(plot("curfew")))
    engine.spawn("admin", staff.administer(plot("admin")))
    rotas = {role: [m for m in world.members.values() if role in m.roles]
             for role in ("supervisor", "fact_checker")}
    for member in list(world.members.values()):
        if member.roles == ("admin",):
            continue
        name = f"member {member.id}"
        rota = next((1440 * team.index(member) // len(team) for team in rotas.values()
                     if member in team), None)
        engine.spawn(f"shifts {name}", staff.shifts(plot(f"shifts/{name}"), member, rota=rota))
        if "supervisor" in member.roles:
            engine.spawn(f"supervise {name}", staff.supervise(plot(f"supervise/{name}"), member))
        if "fact_checker" in member.roles:
            engine.spawn(f"check {name}", staff.check_facts(plot(f"check/{name}"), member))
    day = max(60, round(hours * 60))
    rng = random.Random(f"{seed}/cast")
    trainees = [m for m in world.members.values() if not m.trained and "volunteer" in m.roles]
    for i, trainee in enumerate(trainees):
        engine.spawn(f"train {i}", staff.train(plot(f"train/{i}"), trainee,
                                               rng.randint(0, day // 2)))
    for i in range(scenario.trolls):
        engine.spawn(f"troll {i}", hazards.troll(plot(f"troll/{i}"), rng.randint(0, day - 60)))
