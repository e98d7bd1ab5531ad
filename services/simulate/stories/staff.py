"""The people who keep the network running: volunteers on shifts in their own time zones
(watching the board for flags on their cases), supervisors researching resources and training
newcomers, fact-checkers verifying what others report, and the administrator."""

from __future__ import annotations

from uuid import UUID
from zoneinfo import ZoneInfo

from services.simulate import people
from services.simulate.commands import ADMIN, new_id
from services.simulate.engine import sleep
from services.simulate.stories import coordination, seats
from services.simulate.stories.casework import seen
from services.simulate.stories.common import Plot, Steps
from services.simulate.world import Member, ResourceFile

KINDS = {"transport": 0.35, "shelter": 0.2, "route": 0.15, "food_point": 0.1,
         "medicine": 0.1, "border_crossing": 0.05, "contact": 0.05}
"""What supervisors find and report, by share."""
DETAILS = {"transport": ("minibus, 14 seats, takes pets", "evacuation train, carriage 7",
                         "private car, 3 seats", "church bus, 40 seats, wheelchair ramp"),
           "shelter": people.SHELTER_PLACES,
           "route": ("road via the western bypass", "rail line to the west"),
           "food_point": ("hot meals 8:00-20:00",), "medicine": ("pharmacy with insulin",),
           "border_crossing": ("pedestrian lane open",), "contact": ("hotline for the elderly",),
           "corridor": ("humanitarian corridor, daylight only",)}
WITH_CONTACT = {"transport", "shelter", "contact"}


def local_minute(p: Plot, member: Member, minute: int) -> int:
    """Minutes past local midnight for the member at a simulated minute."""
    moment = p.world.at(minute).astimezone(ZoneInfo(member.time_zone))
    return moment.hour * 60 + moment.minute


def next_start(p: Plot, member: Member, start: int, length: int) -> tuple[int, int]:
    """(minute the next shift starts, its length): now if the member's shift is running at
    the start of the day (what is left of it), else the next time their clock shows `start`."""
    local = local_minute(p, member, p.now)
    into = (local - start) % 1440
    if p.now == 0 and into < length:
        return 0, length - into
    return p.now + (start - local) % 1440, length


def shifts(p: Plot, member: Member, *, rota: int | None = None) -> Steps:
    """Shifts in the member's own day: mornings, evenings or nights; most 6-10 hours, some
    far longer (volunteers who work 20 hours a day). Supervisors and fact-checkers keep a
    rota instead: 9-hour shifts starting at `rota` minutes past midnight UTC, so that
    together they cover the clock."""
    if rota is None:
        start = p.rng.choice((7, 8, 9, 10, 17, 18, 21)) * 60 + p.rng.randint(0, 59)
    else:
        midnight = p.world.start.replace(hour=0, minute=0, second=0, microsecond=0)
        start = local_minute(p, member, p.world.minute_of(midnight) + rota)
    while member.standing != "left":
        length = round(60 * (p.minutes(13, 18) if p.chance(0.15) else p.minutes(6, 10)))
        if rota is not None:
            length = 9 * 60 + p.rng.randint(0, 30)
        begin, length = next_start(p, member, start, length)
        if begin > p.now:
            yield from sleep(begin - p.now)
        while member.standing == "suspended" or (not member.trained
                                                 and "volunteer" in member.roles):
            yield from sleep(30)
        answer = yield from p.do("start_shift", "/volunteers/start-shift", member.actor)
        if not answer.ok:
            yield from sleep(60)
            continue
        member.started_shift(p.now)
        p.world.working[member.id] = member
        p.engine.spawn(f"watch {member.id} {p.now}", watch(p.child(f"watch/{member.id}/{p.now}"),
                                                           member))
        yield from sleep(length)
        member.leaving = True
        yield from sleep(15)
        yield from p.do("end_shift", "/volunteers/end-shift", member.actor)
        member.ended_shift(p.now)
        p.world.working.pop(member.id, None)
        member.leaving = False


def watch(p: Plot, member: Member) -> Steps:
    """While on shift, a volunteer looks at the board for flags on their cases."""
    while member.on_shift and "volunteer" in member.roles and p.world.reads:
        answer = yield from p.look("/board", member.actor, assignee_id=member.id, flagged="true",
                                   limit=200, **p.world.as_of(p.now))
        if answer.ok and isinstance(answer.body, dict):
            seen(p, answer.body.get("cases") or [])
        yield from sleep(p.minutes(8, 20))


def supervise(p: Plot, member: Member) -> Steps:
    """A supervisor on shift researches resources and reports them, every hour or two, and
    looks at the board's flagged cases every half hour (see `rebalance`)."""
    next_report = p.now + p.minutes(60, 150)
    while True:
        yield from sleep(p.minutes(20, 40))
        if not member.on_shift or member.standing != "active":
            continue
        yield from rebalance(p, member)
        yield from seats.another_run(p, member)
        if p.now >= next_report:
            next_report = p.now + p.minutes(60, 150)
            kinds = {**KINDS, **({"corridor": 0.05} if coordination.corridors(p.world) else {})}
            yield from report(p, member, people.weighted(p.rng, kinds),
                              people.weighted(p.rng, people.REGIONS))


def rebalance(p: Plot, supervisor: Member) -> Steps:
    """Flagged cases whose volunteer is off shift go to someone on shift, who checks them."""
    board = yield from p.look("/board", supervisor.actor, flagged="true", limit=200,
                              **p.world.as_of(p.now))
    if not board.ok or not isinstance(board.body, dict):
        return
    for row in board.body.get("cases") or ():
        case = p.world.cases.get(UUID(row["case_id"]))
        if case is None or case.assignee is None or case.assignee.on_shift:
            continue
        successor = p.world.dispatch(case)
        if successor is None:
            return
        answer = yield from p.do("assign", "/cases/assign", supervisor.actor, case_id=case.id,
                                 volunteer_id=successor.id)
        if answer.ok:
            case.assignee.cases.discard(case.id)
            successor.cases.add(case.id)
            case.assignee = successor
            seen(p, [row])
            if case.story is not None:
                p.engine.wake(case.story)


def report(p: Plot, member: Member, kind: str, region: str, *, fake: bool = False,
           details: str | None = None) -> Steps:
    """Report a resource (a driver's or host's name and phone go in its sealed contact)."""
    details = details or p.rng.choice(DETAILS[kind])
    resource = ResourceFile(id=new_id(p.rng), kind=kind, region=region, reporter=member,
                            fake=fake, details=details)
    fields: dict[str, object] = {"kind": kind, "region": region,
                                 "place": f"{region}, {p.rng.choice(people.SHELTER_PLACES)}"
                                 if kind == "shelter" else region,
                                 "details": details, **seats.offer(p.world, resource, details),
                                 **coordination.window_of(p.world, resource)}
    if kind == "shelter":
        resource.capacity = fields["capacity"] = p.rng.choice((5, 20, 40, 80, 150))
    if kind in WITH_CONTACT:
        someone = people.person(p.rng, 10_000 + len(p.world.resources))
        resource.contact_id = new_id(p.rng)
        fields["contact"] = {"name": someone.name, "phone": someone.phone,
                             "subject_id": resource.contact_id}
        p.world.keep_personal(someone.name, someone.phone)
    answer = yield from p.do("report", "/resources/report", member.actor,
                             resource_id=resource.id, **fields)
    if answer.ok:
        p.world.resources[resource.id] = resource
    return resource if answer.ok else None


def check_facts(p: Plot, member: Member) -> Steps:
    """A fact-checker's rounds: new reports (fakes rejected), verifications running out
    (most renewed, some let go), resources found stale when someone tried to use them."""
    while True:
        yield from sleep(p.minutes(20, 40))
        if "fact_checker" not in member.roles:  # a role granted for a while, revoked again
            return
        if not member.on_shift or member.standing != "active":
            continue
        for resource in [r for r in p.world.resources.values() if not r.verified
                         and not r.withdrawn and r.reporter is not member][:4]:
            yield from check(p, member, resource)
        yield from renew(p, member)


def check(p: Plot, member: Member, resource: ResourceFile) -> Steps:
    if resource.fake:
        answer = yield from p.do("reject", "/resources/reject", member.actor,
                                 resource_id=resource.id,
                                 reason="the address is a ruin; the phone does not answer")
        if answer.ok or answer.rule == "ResourceWithdrawn":
            resource.withdrawn = True
            p.world.tally.events["fake resources rejected"] += answer.ok
        return
    answer = yield from p.do("verify", "/resources/verify", member.actor,
                             resource_id=resource.id)
    resource.checked = p.now
    if answer.ok:
        resource.verified = True
    elif answer.rule == "ResourceWithdrawn":
        resource.withdrawn = True


def renew(p: Plot, member: Member) -> Steps:
    """Re-verify what runs out within the hour and a half (or, acting on the notes alone,
    a couple of verified resources); about one in seven is let go. A resource another
    fact-checker looked at within the hour is left to them."""
    answer = yield from p.look("/resources/expiring", member.actor, within_hours=1.5, limit=100,
                               **p.world.as_of(p.now))
    due: list[ResourceFile] = []
    if answer.ok and isinstance(answer.body, dict):
        for row in answer.body.get("verifications") or ():
            found = p.world.resources.get(UUID(row["resource_id"]))
            if found is not None:
                due.append(found)
    elif answer.unread:
        due = p.rng.sample(list(p.world.resources.values()), min(2, len(p.world.resources)))
    for resource in due:
        if resource.withdrawn or resource.reporter is member or p.now - resource.checked < 60:
            continue
        resource.checked = p.now
        if p.chance(0.85):
            yield from check(p, member, resource)
        else:
            p.world.tally.events["verifications let run out"] += 1


def train(p: Plot, trainee: Member, at: int) -> Steps:
    """A supervisor trains a newcomer in two sessions; 5 hours in all clear them."""
    yield from sleep(max(1, at - p.now))
    for minutes, topic in ((150, "casework basics"), (150, "safety, privacy and stress")):
        trainers = [m for m in p.world.on_shift("supervisor") if m is not trainee] \
            or p.world.by_role("supervisor")
        answer = yield from p.do("training", "/volunteers/log-training",
                                 p.rng.choice(trainers).actor, volunteer_id=trainee.id,
                                 minutes=minutes, topic=topic)
        if not answer.ok:
            return
        yield from sleep(minutes)
    trainee.trained = True
    p.world.tally.events["newcomers trained and cleared"] += 1


def administer(p: Plot) -> Steps:
    """The administrator's day: a volunteer becomes a fact-checker for the night and goes back
    to casework; a volunteer is suspended after a complaint and reinstated; one who leaves
    the network has their data erased; a driver asks to be removed from the directory."""
    world = p.world
    admin = next((m for m in world.members.values() if "admin" in m.roles), None)
    yield from sleep(10 * 60)
    if admin is None:
        return
    volunteers = [m for m in world.by_role("volunteer") if len(m.roles) == 1 and m.trained]
    if len(volunteers) < 4:
        return
    promoted = p.rng.choice(volunteers)
    answer = yield from p.do("grant_role", "/volunteers/grant-role", admin.actor,
                             volunteer_id=promoted.id, role="fact_checker")
    if answer.ok:
        promoted.roles = (*promoted.roles, "fact_checker")
        p.engine.spawn("promoted checker", check_facts(p.child("promoted"), promoted))
    yield from sleep(4 * 60)
    idle = [m for m in volunteers if not m.cases and m is not promoted]
    if idle:
        yield from sanction(p, p.rng.choice(idle))
    yield from sleep(4 * 60)
    if "fact_checker" in promoted.roles:
        answer = yield from p.do("revoke_role", "/volunteers/revoke-role", admin.actor,
                                 volunteer_id=promoted.id, role="fact_checker")
        if answer.ok:
            promoted.roles = ("volunteer",)
    yield from sleep(2 * 60)
    yield from leave(p)
    contacts = [r for r in world.resources.values() if r.contact_id is not None
                and not r.withdrawn]
    if contacts:
        resource = p.rng.choice(contacts)
        answer = yield from p.do("erase_contact", "/resources/erase-personal-data", ADMIN,
                                 resource_id=resource.id, subject_id=resource.contact_id)
        if answer.ok:
            resource.contact_id = None
            world.tally.events["contacts erased on request"] += 1


def sanction(p: Plot, member: Member) -> Steps:
    """Suspended after a complaint (their cases handed to others first), reinstated later."""
    supervisors = p.world.by_role("supervisor")
    if not supervisors or member.cases:
        return
    by = p.rng.choice(supervisors)
    member.standing = "suspended"  # no case goes to them while the supervisor decides
    answer = yield from p.do("suspend", "/volunteers/suspend", by.actor, volunteer_id=member.id,
                             reason="complaint: shared a person's address in a public chat")
    if not answer.ok:
        member.standing = "active"
        return
    p.world.tally.events["volunteers suspended"] += 1
    yield from sleep(p.minutes(120, 300))
    answer = yield from p.do("reinstate", "/volunteers/reinstate", by.actor,
                             volunteer_id=member.id, reason="talked it through; retrained")
    if answer.ok:
        member.standing = "active"


def leave(p: Plot) -> Steps:
    """A volunteer off shift and holding no case leaves the network and asks to be
    forgotten."""
    idle = [m for m in p.world.by_role("volunteer") if len(m.roles) == 1 and not m.cases
            and not m.on_shift and m.standing == "active"]
    if not idle:
        return
    member = p.rng.choice(idle)
    member.standing = "left"
    answer = yield from p.do("erase_volunteer", "/volunteers/erase-personal-data", ADMIN,
                             volunteer_id=member.id)
    if answer.ok:
        p.world.tally.events["volunteers left and were forgotten"] += 1
