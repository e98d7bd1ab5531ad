"""What the network lives with: requests arriving in waves (mostly at night, and after
shelling), shelling that bombs a route or a shelter, shelters filling, food points closing for
the curfew, and trolls reporting fake shelters until they are banned."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from services.simulate import people
from services.simulate.commands import new_id
from services.simulate.engine import sleep
from services.simulate.stories import coordination
from services.simulate.stories.cases import request_for_help
from services.simulate.stories.common import Plot, Steps
from services.simulate.stories.staff import report
from services.simulate.world import Member, ResourceFile

KYIV = ZoneInfo("Europe/Kyiv")
WAVES = ((6, 1.7), (10, 1.0), (18, 0.55), (22, 0.9), (24, 1.7))
"""Requests by the hour in Kyiv, relative to the day's mean: (until hour, factor)."""
MEAN_WAVE = sum(f * (h - s) for (s, _), (h, f) in zip(((0, 0), *WAVES[:-1]), WAVES,
                                                     strict=True)) / 24


def wave(p: Plot, minute: int) -> float:
    """How busy the intake is at a minute: nights are the busiest."""
    hour = p.world.at(minute).astimezone(KYIV).hour
    return next(f for until, f in WAVES if hour < until) / MEAN_WAVE


def is_night(p: Plot, minute: int) -> bool:
    hour = p.world.at(minute).astimezone(KYIV).hour
    return hour >= 22 or hour < 6


def poisson(p: Plot, mean: float) -> int:
    """How many requests arrive in a minute (Knuth's method: means here are small)."""
    limit, count, product = math.exp(-mean), 0, p.rng.random()
    while product > limit:
        count += 1
        product *= p.rng.random()
    return count


def intake(p: Plot, requests_per_day: float) -> Steps:
    """The intake bot hears from people minute by minute: the day's requests in waves, more
    from a region for three hours after it was shelled."""
    per_minute = requests_per_day / 1440
    serial = 0
    while True:
        arrivals = [people.weighted(p.rng, people.REGIONS)
                    for _ in range(poisson(p, per_minute * wave(p, p.now)))]
        for region, until in p.world.surge.items():
            if until > p.now:
                arrivals += [region] * poisson(p, per_minute)
        for region in arrivals:
            serial += 1
            name = f"request {serial}"
            dangerous = is_night(p, p.now) or p.world.surge.get(region, -1) > p.now
            p.engine.spawn(name, request_for_help(p.child(name), region, dangerous))
        yield from sleep(1)


def shelling(p: Plot, per_day: float) -> Steps:
    """Shelling, mostly at night: a route or a bus on it is bombed (cases relying on it are
    flagged and told to stay), sometimes a shelter is hit; requests from the region surge;
    hours later the road is cleared and checked again."""
    while per_day > 0:
        yield from sleep(p.rng.expovariate(per_day / 1440))
        if not is_night(p, p.now) and p.chance(0.6):
            continue  # most shelling is at night
        region = people.weighted(p.rng, people.REGIONS)
        p.world.surge[region] = p.now + 180
        p.world.tally.events["shellings"] += 1
        p.engine.spawn(f"shelled {region} {p.now}", aftermath(p.child(f"shelled/{p.now}"),
                                                              region))


def aftermath(p: Plot, region: str) -> Steps:
    witness = on_duty(p, "supervisor") or on_duty(p, "volunteer")
    if witness is None:
        return
    bombed = pick(p, ("route", "transport"), region)
    if bombed is not None:
        answer = yield from p.do("mark_unsafe", "/resources/mark-unsafe", witness.actor,
                                 resource_id=bombed.id,
                                 reason=f"a bus on the {bombed.kind} was bombed")
        if answer.ok:
            bombed.status = "unsafe"
            p.world.tally.events["routes or buses bombed"] += 1
    corridor = pick(p, ("corridor",), region) if coordination.corridors(p.world) else None
    checker = on_duty(p, "fact_checker")
    if corridor is not None and checker is not None:
        closed = yield from coordination.close_corridor(p, checker, corridor)
        if closed:
            p.engine.spawn(f"corridor {corridor.id} {p.now}", reopen_later(
                p.child(f"corridor/{corridor.id}/{p.now}"), corridor))
    hit = pick(p, ("shelter",), region)
    if hit is not None and p.chance(0.3):
        answer = yield from p.do("destroy", "/resources/destroy", witness.actor,
                                 resource_id=hit.id, reason="hit by a missile")
        if answer.ok:
            hit.withdrawn = True
            p.world.tally.events["shelters destroyed"] += 1
    if bombed is not None and bombed.status == "unsafe":
        yield from sleep(p.minutes(240, 480))
        checker = on_duty(p, "fact_checker")
        if checker is None or checker is bombed.reporter:
            return
        answer = yield from p.do("reopen_route", "/resources/reopen", checker.actor,
                                 resource_id=bombed.id, reason="road cleared; a convoy passed")
        if answer.ok:
            bombed.status = "available"
            answer = yield from p.do("verify", "/resources/verify", checker.actor,
                                     resource_id=bombed.id)
            bombed.verified = answer.ok


def reopen_later(p: Plot, corridor: ResourceFile) -> Steps:
    """Hours later the corridor is checked and open by day again."""
    yield from sleep(p.minutes(180, 360))
    checker = on_duty(p, "fact_checker")
    if checker is not None:
        yield from coordination.reopen_corridor(p, checker, corridor)


def on_duty(p: Plot, role: str) -> Member | None:
    found = p.world.on_shift(role) or [m for m in p.world.by_role(role)
                                       if m.standing == "active" and m.trained]
    return p.rng.choice(found) if found else None


def pick(p: Plot, kinds: tuple[str, ...], region: str) -> ResourceFile | None:
    found = [r for r in p.world.resources.values() if r.kind in kinds and r.region == region
             and not r.withdrawn and r.status == "available"]
    return p.rng.choice(found) if found else None


def shelters_filling(p: Plot) -> Steps:
    """Supervisors keep shelters' occupancy current: they fill up (a full one flags the cases
    sent there) and empty as people move on."""
    while True:
        yield from sleep(p.minutes(30, 60))
        supervisor = on_duty(p, "supervisor")
        shelters = [r for r in p.world.resources.values() if r.kind == "shelter"
                    and r.capacity and not r.withdrawn and not r.fake and r.verified]
        if supervisor is None or not shelters:
            continue
        for shelter in p.rng.sample(shelters, min(3, len(shelters))):
            yield from occupancy(p, supervisor, shelter)


def occupancy(p: Plot, supervisor: Member, shelter: ResourceFile) -> Steps:
    assert shelter.capacity is not None
    if p.chance(0.3):
        taken = max(0, shelter.occupancy - p.rng.randint(1, max(1, shelter.capacity // 2)))
    else:
        taken = min(shelter.capacity,
                    shelter.occupancy + p.rng.randint(1, max(2, shelter.capacity // 3)))
    if taken == shelter.occupancy:
        return
    answer = yield from p.do("occupancy", "/resources/update-occupancy", supervisor.actor,
                             resource_id=shelter.id, occupancy=taken)
    if answer.ok:
        shelter.occupancy = taken
        if taken == shelter.capacity:
            p.world.tally.events["shelters filled up"] += 1


def curfew(p: Plot) -> Steps:
    """Food points close for the curfew at 21:00 Kyiv time and reopen at 8:00."""
    while True:
        hour = p.world.at(p.now).astimezone(KYIV).hour
        closing = hour == 21
        if hour in (8, 21):
            kind_status = "available" if closing else "closed"
            for point in [r for r in p.world.resources.values() if r.kind == "food_point"
                          and r.status == kind_status and not r.withdrawn]:
                yield from open_or_close(p, point, closing)
        yield from sleep(60 - p.world.at(p.now).astimezone(KYIV).minute)


def open_or_close(p: Plot, point: ResourceFile, closing: bool) -> Steps:
    who = on_duty(p, "supervisor")
    if who is None:
        return
    if closing:
        answer = yield from p.do("close_point", "/resources/close", who.actor, resource_id=point.id,
                                 reason="closed for the night: curfew")
    else:
        answer = yield from p.do("reopen_point", "/resources/reopen", who.actor,
                                 resource_id=point.id, reason="open again after the curfew")
    if answer.ok:
        point.status = "closed" if closing else "available"


def troll(p: Plot, at: int) -> Steps:
    """Someone joins as a volunteer and reports fake shelters ("fully furnished home, sleeps
    five" that is a ruin); a fact-checker rejects one, a supervisor bans them, and their other
    reports are retracted by the ban."""
    yield from sleep(max(1, at - p.now))
    recruiter = on_duty(p, "supervisor")
    if recruiter is None:
        return
    who = people.person(p.rng, 20_000 + p.now)
    member = Member(id=new_id(p.rng), name=who.name, roles=("volunteer",),
                    time_zone="Europe/Kyiv", languages=("uk",), standing="active")
    p.world.keep_personal(who.name, who.phone)
    answer = yield from p.do("register", "/volunteers/register", recruiter.actor,
                             volunteer_id=member.id, display_name=who.name,
                             languages=["uk"], time_zone=member.time_zone, contact=who.phone)
    if not answer.ok:
        return
    p.world.members[member.id] = member
    fakes: list[ResourceFile] = []
    for _ in range(p.rng.randint(1, 3)):
        fake = yield from report(p, member, "shelter", people.weighted(p.rng, people.REGIONS),
                                 fake=True, details="fully furnished home, sleeps five")
        if fake is not None:
            fakes.append(fake)
        yield from sleep(p.minutes(5, 30))
    while not any(f.withdrawn for f in fakes) and fakes:
        yield from sleep(15)
    banner = on_duty(p, "supervisor")
    if banner is None or not fakes:
        return
    answer = yield from p.do("ban", "/volunteers/ban", banner.actor, volunteer_id=member.id,
                             reason="reported fake shelters")
    if answer.ok:
        member.standing = "banned"
        p.world.tally.events["trolls banned"] += 1
        for fake in fakes:
            fake.withdrawn = True  # rejected, or retracted by the ban

