"""The way out: transport arranged on verified resources (seats held and confirmed where the
server has them), departure, checkpoints, stuck on the way, turning back, borders, arrival;
or kept safe where they are, with food, medicine and often a support group."""

from __future__ import annotations

from uuid import UUID

from services.simulate import people
from services.simulate.engine import sleep
from services.simulate.stories import coordination, referrals, seats
from services.simulate.stories.casework import TO_STAY, act, close, pause, uuid_of
from services.simulate.stories.common import STALE, Plot, Steps
from services.simulate.world import CaseFile, ResourceFile

STUCK = (("queue at the crossing, 9 hours", "Border queue"),
         ("bridge blown up ahead", "Bridge"), ("car broke down", "Roadside"),
         ("curfew, road closed until 6:00", "Curfew post"))
CANNOT_LEAVE = ("bedridden, cannot be moved safely", "refuses to leave her husband's grave",
                "no documents for the children", "caring for a neighbour who cannot walk")


def arrange(p: Plot, case: CaseFile) -> Steps:
    """Transport on a verified transport (and route) from the directory or the notes;
    a stale one the server refuses is caught, and the next one tried. True once arranged."""
    tried: set[UUID] = set()
    fitting = yield from suggested_transports(p, case)
    for _ in range(3):
        offered = [r for r in [*fitting, *p.world.usable("transport", case.region)]
                   if r.id not in tried]
        transport = next((r for r in offered if seats.fits(r, case)),
                         offered[0] if offered else None)
        if transport is None:
            return False
        tried.add(transport.id)
        routes = [r for r in p.world.usable("route", case.region) if r.id not in tried]
        ways = [r for r in p.world.usable("corridor", case.region)
                if r.id not in tried and coordination.open_now(p, r)]
        chosen = [transport.id, *([routes[0].id] if routes and p.chance(0.35) else []),
                  *([ways[0].id] if ways and p.chance(0.5) else [])]
        answer = yield from act(p, case, "transport", "/cases/arrange-transport",
                                resource_ids=chosen, description=f"seats for {case.household}")
        if answer.ok:
            case.relies_on.update(chosen)
            if transport in fitting:
                p.world.tally.events["transports chosen from the server's suggestions"] += 1
            yield from seats.hold(p, case, transport, act)
            return True
        if answer.rule in STALE and isinstance(answer.body, dict):
            stale_id = uuid_of(answer.body.get("resource_id"))
            stale = p.world.resources.get(stale_id) if stale_id is not None else None
            if stale is not None:
                if answer.rule != "WindowClosed":  # a closed window opens again by itself
                    stale.learn(str(answer.body.get("reason")))
                tried.add(stale.id)
    return False


def suggested_transports(p: Plot, case: CaseFile) -> Steps:
    """The transports the server suggests for the household, best first (none without
    suggestions)."""
    if case.assignee is None:
        return []
    advice = yield from coordination.suggested(p, case, case.assignee, kind="transport",
                                               volunteers=0, resources=5, near_misses=0)
    known = coordination.first_known(p.world, (advice or {}).get("resources") or (),
                                     "resource_id")
    return [r for r in known if isinstance(r, ResourceFile)]


def move(p: Plot, case: CaseFile, kind: str, path: str, stage: str, /,
         **fields: object) -> Steps:
    answer = yield from act(p, case, kind, path, **fields)
    if answer.ok:
        case.stage = stage
    return answer


def referred(p: Plot, case: CaseFile) -> Steps:
    """Hand the case on to a partner and close it as referred through the accepted referral
    (where the server has referrals; a server without them closes it as referred at once).
    None: the partner declined and the case stays open."""
    if not p.world.can(referrals.CONSENT):
        return (yield from close(p, case, "referred_elsewhere"))
    referral_id = yield from referrals.refer(p, case)
    if referral_id is None:
        return None
    return (yield from close(p, case, "referred_elsewhere", referral_id=referral_id))


def evacuate(p: Plot, case: CaseFile) -> Steps:
    """Transport, departure, checkpoints (stuck and back on the way), a border, arrival."""
    setting_off = yield from set_off(p, case)
    if not setting_off:
        return (yield from referred(p, case))
    legs = p.rng.randint(1, 3)
    while legs > 0:
        yield from pause(p, case, 40, 120)
        if p.chance(0.12):
            stayed = yield from stuck(p, case)
            if stayed is not None:
                return stayed
            continue
        waypoint = f"{p.rng.choice(people.WAYPOINTS)} checkpoint, km {p.rng.randint(20, 400)}"
        p.world.keep_personal(waypoint)
        yield from move(p, case, "checkpoint", "/cases/record-checkpoint", "en_route",
                        checkpoint=waypoint)
        legs -= 1
    crossing = people.CROSSINGS.get(case.destination)
    if crossing is not None:
        yield from pause(p, case, 60, 180)
        yield from move(p, case, "crossing", "/cases/record-border-crossing", "en_route",
                        crossing=f"{crossing}, lane {p.rng.randint(1, 6)}")
    yield from pause(p, case, 60, 240)
    place = f"{case.destination}, host family of ref {case.id.hex[:6]}"
    p.world.keep_personal(place)
    answer = yield from move(p, case, "arrival", "/cases/record-arrival", "arrived", place=place)
    if not answer.ok:
        return None
    yield from pause(p, case, 30, 180)
    yield from act(p, case, "follow_up", "/cases/record-follow-up",
                   text="Arrived, resting; asked about school for the children")
    return (yield from close(p, case, "evacuated"))


def set_off(p: Plot, case: CaseFile) -> Steps:
    """Transport arranged (seats held), perhaps a night in a shelter, then they set off once
    they confirm their seats. False when nothing could be arranged in four tries."""
    for _ in range(4):
        arranged = yield from arrange(p, case)
        if arranged:
            yield from shelter_tonight(p, case)
            yield from pause(p, case, 20, 120)
            boarded = yield from seats.board(p, case, act)
            if boarded:
                yield from move(p, case, "departure", "/cases/record-departure", "en_route")
                return True
        yield from act(p, case, "advice", "/cases/give-advice", text=TO_STAY)
        yield from pause(p, case, 45, 90)
    return False


def shelter_tonight(p: Plot, case: CaseFile) -> Steps:
    """Some leave the next morning: advice naming a shelter for the night."""
    shelters = p.world.usable("shelter", case.region)
    if not shelters or not p.chance(0.4):
        return
    shelter = p.rng.choice(shelters)
    answer = yield from act(p, case, "advice", "/cases/give-advice", resource_ids=[shelter.id],
                            text="Spend the night at the shelter; the convoy leaves at dawn.")
    if answer.ok:
        case.relies_on.add(shelter.id)


def stuck(p: Plot, case: CaseFile) -> Steps:
    """Held up on the way: they get through, or turn back and leave again, or stay."""
    reason, place = p.rng.choice(STUCK)
    yield from move(p, case, "stuck", "/cases/record-stuck", "stuck",
                    place=f"{place} near {p.rng.choice(people.WAYPOINTS)}", reason=reason)
    yield from pause(p, case, 60, 240)
    if not p.chance(0.35):
        return None
    yield from move(p, case, "return", "/cases/record-return", "returned",
                    reason=f"turned back: {reason}")
    yield from seats.release(p, case, act)
    yield from pause(p, case, 60, 180)
    if p.chance(0.5):
        return (yield from stay(p, case, "went back home and will not try again"))
    setting_off = yield from set_off(p, case)
    if not setting_off:
        return (yield from stay(p, case, "no way out found after turning back"))
    return None


def stay(p: Plot, case: CaseFile, why: str) -> Steps:
    """Kept safe where they are: food and medicine nearby, often a support group."""
    yield from move(p, case, "cannot_leave", "/cases/record-cannot-leave", "cannot_leave",
                    reason=why)
    points = p.world.usable("food_point", case.region) + p.world.usable("medicine", case.region)
    if points:
        point = p.rng.choice(points)
        answer = yield from act(p, case, "advice", "/cases/give-advice", resource_ids=[point.id],
                                text="Food and medicine are delivered from the point nearby.")
        if answer.ok:
            case.relies_on.add(point.id)
    if p.chance(0.5):
        yield from support_group(p, case)
    yield from pause(p, case, 60, 300)
    if case.support_group:
        yield from act(p, case, "dissolve_group", "/cases/dissolve-support-group",
                       reason="person settled with neighbours")
        case.support_group = False
    return (yield from close(p, case, "stays"))


def support_group(p: Plot, case: CaseFile) -> Steps:
    """A psychologist and another volunteer around a person who cannot or will not move."""
    psychologists = p.world.on_shift("psychologist") or p.world.by_role("psychologist")
    helpers = [m for m in p.world.by_role("volunteer") if m.trained and m is not case.assignee
               and m.standing == "active" and "psychologist" not in m.roles]
    if not psychologists or len(helpers) < 2:
        return
    psychologist = p.rng.choice(psychologists)
    first, second = p.rng.sample(helpers, 2)
    answer = yield from act(p, case, "support_group", "/cases/form-support-group",
                            psychologist_id=psychologist.id, member_ids=[first.id])
    if not answer.ok:
        return
    case.support_group = True
    yield from sleep(p.minutes(30, 90))
    note = f"Session with ref {case.id.hex[:6]}: sleeping badly since the shelling"
    p.world.keep_personal(note)
    yield from p.do("note", "/cases/add-note", psychologist.actor, case_id=case.id, text=note)
    yield from act(p, case, "support_member", "/cases/add-support-member",
                   volunteer_id=second.id)
