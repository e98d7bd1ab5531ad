"""A request for help, from the intake bot's survey to its outcome: a volunteer takes it (or
a supervisor assigns it), talks to the person, arranges transport on verified resources, and
records the journey (departed, checkpoints, stuck, returned, border crossed, arrived) until
the case closes as evacuated, stays, lost contact or referred elsewhere. Flags raised on the
way (a route bombed, a shelter full, a verification run out) are checked and cleared first:
the server closes a case as evacuated or stays only with no flag raised."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.simulate import people
from services.simulate.commands import AUDITOR, INTAKE_BOT, new_id
from services.simulate.engine import Answer, sleep
from services.simulate.stories import seats
from services.simulate.stories.common import Plot, Steps
from services.simulate.world import CaseFile, Flag, Member

TO_STAY = "Stay where you are tonight: the route is being shelled. We call you at 7:00."
PACK = "Pack documents, water, medicine and a charger; keep your phone on."
STUCK = (("queue at the crossing, 9 hours", "Border queue"),
         ("bridge blown up ahead", "Bridge"), ("car broke down", "Roadside"),
         ("curfew, road closed until 6:00", "Curfew post"))
CANNOT_LEAVE = ("bedridden, cannot be moved safely", "refuses to leave her husband's grave",
                "no documents for the children", "caring for a neighbour who cannot walk")
FATES = ("evacuate", "cannot_leave", "lost_contact", "referred")
"""How a case ends up (not all by the end of the day): see `fate`."""


def request_for_help(p: Plot, region: str, dangerous_hour: bool) -> Steps:
    """One person asks for help; the network follows them to an outcome."""
    case = yield from open_case(p, region, dangerous_hour)
    if case is None:
        return
    case.story = p.engine.current
    held = yield from take_up(p, case)
    if not held:
        return
    yield from first_contact(p, case)
    fate = yield from journey_of(p, case)
    if fate is not None:
        p.world.tally.outcomes[fate] += 1
        yield from after_closing(p, case, fate)


def open_case(p: Plot, region: str, dangerous_hour: bool) -> Steps:
    """The intake bot opens the case from the survey answers."""
    world = p.world
    who = people.person(p.rng, len(world.cases) + 1)
    answers = people.intake(p.rng, who, region, dangerous_hour=dangerous_hour)
    world.keep_personal(*people.personal_values(answers), who.name, who.phone)
    case = CaseFile(
        id=new_id(p.rng), person_id=new_id(p.rng), region=region,
        destination=answers["destination"], household=answers["adults"]
        + len(answers["children_ages"]), urgent=not answers["safe_now"]
        or answers["medical_needs"] or answers["mobility_needs"],
        mobility=answers["mobility_needs"], medical=answers["medical_needs"],
        languages=tuple(answers["languages"]), requested=p.now,
        needs=frozenset(need for need, present in (
            ("children", answers["children_ages"]), ("pets", answers["pets"]),
            ("mobility", answers["mobility_needs"])) if present))
    answer = yield from p.do("open", "/cases/open", INTAKE_BOT, case_id=case.id,
                             person_id=case.person_id, intake=answers)
    if not answer.ok:
        return None
    case.opened = True
    world.cases[case.id] = case
    noted(case, answer)
    return case


def noted(case: CaseFile, answer: Answer) -> None:
    if isinstance(answer.body, dict):
        case.version = int(answer.body.get("version") or case.version)
        case.position = int(answer.body.get("position") or case.position)


GONE = frozenset({"CaseClosed", "NotFound"})
"""Refusals after which nobody can take the case up again."""


def take_up(p: Plot, case: CaseFile) -> Steps:
    """Until a volunteer holds the case: one takes it from the board, or (an urgent case
    waiting a quarter of an hour) a supervisor assigns it. False if it cannot be held."""
    waited = round(p.minutes(1, 12))  # until a volunteer looks at the board
    yield from sleep(waited)
    while case.assignee is None:
        member = p.world.dispatch(case)
        supervisors = p.world.on_shift("supervisor")
        if member is not None:
            member.cases.add(case.id)
            if case.urgent and waited >= 15 and supervisors:
                answer = yield from p.do("assign", "/cases/assign", p.rng.choice(supervisors).actor,
                                         case_id=case.id, volunteer_id=member.id)
            else:
                answer = yield from p.do("take", "/cases/take", member.actor, case_id=case.id)
            if answer.ok:
                case.assignee = member
                noted(case, answer)
                if case.to_volunteer is None:
                    case.to_volunteer = p.now - case.requested
                    p.world.tally.to_volunteer.append(case.to_volunteer)
                return True
            member.cases.discard(case.id)
            if answer.rule in GONE:
                return False
        yield from sleep(3)
        waited += 3
    return True


def act(p: Plot, case: CaseFile, kind: str, path: str, /, **fields: object) -> Steps:
    """The case's volunteer records something on it (taking it up again first if it was
    handed back meanwhile)."""
    if case.assignee is None or case.assignee.standing != "active":
        if case.outcome is not None:  # closed, and its volunteer has gone: nobody follows up
            return Answer(409, {"rule": "CaseClosed"})
        release_note(case)
        held = yield from take_up(p, case)
        if not held or case.assignee is None:
            return Answer(409, {"rule": "CaseClosed"})
    actor = case.assignee.actor
    answer = yield from p.do(kind, path, actor, case_id=case.id, **fields)
    if answer.rule == "NotCaseAssignee" and case.assignee is not None \
            and case.assignee.actor != actor:  # a supervisor reassigned it meanwhile
        answer = yield from p.do(kind, path, case.assignee.actor, case_id=case.id, **fields)
    if answer.ok:
        noted(case, answer)
    return answer


def release_note(case: CaseFile) -> None:
    if case.assignee is not None:
        case.assignee.cases.discard(case.id)
    case.assignee = None


def first_contact(p: Plot, case: CaseFile) -> Steps:
    """The volunteer calls the person: a note about them and the first advice."""
    yield from sleep(p.minutes(2, 25))
    text = f"Called {p.rng.choice(people.FIRST)}'s contact at {p.now % 60:02d} past; " \
           f"{case.household} to leave, ref {case.id.hex[:6]}"
    p.world.keep_personal(text)
    answer = yield from act(p, case, "note", "/cases/add-note", text=text)
    yield from act(p, case, "advice", "/cases/give-advice", text=PACK)
    if answer.ok and case.to_contact is None:
        case.to_contact = p.now - case.requested
        p.world.tally.to_contact.append(case.to_contact)
    if p.chance(0.04):
        yield from worry(p, case)


def worry(p: Plot, case: CaseFile) -> Steps:
    """A volunteer's own flag: something in the call worries them; checked an hour later."""
    flag_id = new_id(p.rng)
    detail = f"ref {case.id.hex[:6]} sounded confused about where the children are"
    p.world.keep_personal(detail)
    answer = yield from act(p, case, "flag", "/cases/flag", flag_id=flag_id,
                            reason="person sounds confused; call again", detail=detail)
    if answer.ok:
        case.flags[flag_id] = Flag(flag_id, "caseworker_concern", None, p.now)
        p.world.tally.flags_seen += 1


def fate(p: Plot, case: CaseFile) -> str:
    """Most leave; mobility makes staying likelier, medical needs a referral."""
    cannot = 0.07 + (0.25 if case.mobility else 0.0)
    referred = 0.05 + (0.2 if case.medical else 0.0)
    return p.rng.choices(FATES, (max(0.0, 1 - cannot - referred - 0.06), cannot, 0.06,
                                 referred))[0]


def journey_of(p: Plot, case: CaseFile) -> Steps:
    """Follow the case to its outcome; returns the outcome it closed with (None: not closed)."""
    chosen = fate(p, case)
    if chosen == "lost_contact":
        yield from pause(p, case, 60, 240)
        return (yield from close(p, case, "lost_contact"))
    if chosen == "referred":
        yield from act(p, case, "advice", "/cases/give-advice",
                       text="A medical evacuation team will call you; keep the line free.")
        yield from pause(p, case, 30, 120)
        return (yield from close(p, case, "referred_elsewhere"))
    if chosen == "cannot_leave":
        return (yield from stay(p, case, p.rng.choice(CANNOT_LEAVE)))
    return (yield from evacuate(p, case))


def pause(p: Plot, case: CaseFile, low: float, high: float) -> Steps:
    """Time passes; then the volunteer looks at the case again (flags, handing back)."""
    yield from sleep(p.minutes(low, high))
    yield from attend(p, case)


def attend(p: Plot, case: CaseFile) -> Steps:
    """Check each flag seen on the board and clear it, saying why (advice to stay first if a
    route or transport it relied on was recalled); hand the case back if the volunteer's
    shift ends before the person set off."""
    for flag in list(case.flags.values()):
        yield from clear(p, case, flag)
    member = case.assignee
    if member is not None and member.leaving and case.stage == "waiting":
        yield from hand_over(p, case, member)


def hand_over(p: Plot, case: CaseFile, member: Member) -> Steps:
    """The volunteer's shift ends before the person set off: a supervisor reassigns the case
    to someone on shift, or the volunteer hands it back to the board."""
    supervisors = [s for s in p.world.on_shift("supervisor") if s is not member]
    successor = p.world.dispatch(case)
    if supervisors and successor is not None and p.chance(0.5):
        successor.cases.add(case.id)
        answer = yield from p.do("assign", "/cases/assign", p.rng.choice(supervisors).actor,
                                 case_id=case.id, volunteer_id=successor.id)
        if answer.ok:
            member.cases.discard(case.id)
            case.assignee = successor
            noted(case, answer)
            return
        successor.cases.discard(case.id)
    answer = yield from act(p, case, "release", "/cases/release",
                            reason="shift over, handing back to the board")
    if answer.ok or answer.rule == "CaseNotTaken":
        release_note(case)


def clear(p: Plot, case: CaseFile, flag: Flag, *, seen: bool = True) -> Steps:
    if flag.resource_id in case.relies_on and case.stage in ("waiting", "stuck", "en_route"):
        yield from act(p, case, "advice", "/cases/give-advice", text=TO_STAY)
    answer = yield from act(p, case, "clear_flag", "/cases/clear-flag", flag_id=flag.flag_id,
                            reason=f"checked: {flag.reason.replace('_', ' ')}; new plan made")
    if answer.ok or answer.rule == "FlagNotRaised":
        case.flags.pop(flag.flag_id, None)
        case.cleared.add(flag.flag_id)
        if flag.resource_id is not None:
            case.relies_on.discard(flag.resource_id)
        if answer.ok and seen:
            p.world.tally.flag_reactions.append(max(0, p.now - flag.raised))


def arrange(p: Plot, case: CaseFile) -> Steps:
    """Transport on a verified transport (and route) from the directory or the notes;
    a stale one the server refuses is caught, and the next one tried. True once arranged."""
    tried: set[UUID] = set()
    for _ in range(3):
        offered = [r for r in p.world.usable("transport", case.region) if r.id not in tried]
        transport = next((r for r in offered if seats.fits(r, case)),
                         offered[0] if offered else None)
        if transport is None:
            return False
        tried.add(transport.id)
        routes = [r for r in p.world.usable("route", case.region) if r.id not in tried]
        chosen = [transport.id, *([routes[0].id] if routes and p.chance(0.35) else [])]
        answer = yield from act(p, case, "transport", "/cases/arrange-transport",
                                resource_ids=chosen, description=f"seats for {case.household}")
        if answer.ok:
            case.relies_on.update(chosen)
            yield from seats.hold(p, case, transport, act)
            return True
        if answer.rule in ("ResourceNotUsable", "ShelterFull") and isinstance(answer.body, dict):
            stale = p.world.resources.get(_id(answer.body.get("resource_id")))  # type: ignore[arg-type]
            if stale is not None:
                stale.learn(str(answer.body.get("reason")))
                tried.add(stale.id)
    return False


def _id(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def move(p: Plot, case: CaseFile, kind: str, path: str, stage: str, /,
         **fields: object) -> Steps:
    answer = yield from act(p, case, kind, path, **fields)
    if answer.ok:
        case.stage = stage
    return answer


def evacuate(p: Plot, case: CaseFile) -> Steps:
    """Transport, departure, checkpoints (stuck and back on the way), a border, arrival."""
    setting_off = yield from set_off(p, case)
    if not setting_off:
        return (yield from close(p, case, "referred_elsewhere"))
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


def close(p: Plot, case: CaseFile, outcome: str) -> Steps:
    """Close with an outcome; evacuated and stays clear every raised flag first, as the board
    shows them (and as a refusal names those it had not shown yet). Returns the outcome, or
    None."""
    if outcome in ("evacuated", "stays") and case.assignee is not None:
        board = yield from p.look("/board", case.assignee.actor, assignee_id=case.assignee.id,
                                  flagged="true", limit=200, **p.world.as_of(p.now))
        if board.ok and isinstance(board.body, dict):
            seen(p, board.body.get("cases") or [], wake=False)
    for _ in range(3):
        if outcome in ("evacuated", "stays"):
            for flag in list(case.flags.values()):
                yield from clear(p, case, flag)
        answer = yield from act(p, case, "close", "/cases/close", outcome=outcome)
        if answer.ok:
            case.outcome = outcome
            seats.let_go(case)  # closing frees the seats the case held
            if case.assignee is not None:
                case.assignee.cases.discard(case.id)
            return outcome
        if answer.rule != "FlagsStillRaised" or not isinstance(answer.body, dict):
            return None
        for raised in answer.body.get("flags") or ():
            flag_id = _id(raised.get("flag_id"))
            if flag_id is not None and flag_id not in case.flags:
                p.world.tally.flags_seen += 1
                case.flags[flag_id] = Flag(flag_id, str(raised.get("reason")), None, p.now)
    return None


def after_closing(p: Plot, case: CaseFile, outcome: str) -> Steps:
    """Keeping in touch after arrival; a person who writes again; a request to be forgotten;
    a complaint an auditor reviews."""
    if outcome == "evacuated" and p.chance(0.3):
        yield from sleep(p.minutes(120, 600))
        yield from act(p, case, "follow_up", "/cases/record-follow-up",
                       text="Found a flat and a job; thanks the driver")
    elif outcome == "lost_contact" and p.chance(0.25):
        yield from sleep(p.minutes(60, 300))
        answer = yield from act(p, case, "reopen", "/cases/reopen",
                                reason="the person wrote again from a new number")
        if answer.ok:
            case.outcome = None
            p.world.tally.outcomes["lost_contact"] -= 1
            p.world.tally.events["cases reopened"] += 1
            fate_now = yield from evacuate(p, case)
            if fate_now is not None:
                p.world.tally.outcomes[fate_now] += 1
            return
    if p.chance(0.02):
        yield from forget(p, case)
    elif p.chance(0.01):
        yield from complaint(p, case)


def forget(p: Plot, case: CaseFile) -> Steps:
    supervisors = p.world.by_role("supervisor")
    if supervisors:
        answer = yield from p.do("erase", "/cases/erase-personal-data",
                                 p.rng.choice(supervisors).actor, case_id=case.id)
        if answer.ok:
            p.world.tally.events["people's data erased on request"] += 1


def complaint(p: Plot, case: CaseFile) -> Steps:
    supervisors = p.world.by_role("supervisor")
    if not supervisors:
        return
    answer = yield from p.do("audit_grant", "/audit/grant", p.rng.choice(supervisors).actor,
                             stream_id=case.id, auditor=AUDITOR.id,
                             purpose="complaint about the driver")
    if answer.ok:
        p.world.tally.events["complaints reviewed by an auditor"] += 1
        yield from p.look(f"/audit/{case.id}/history", AUDITOR, purpose="complaint review")


def seen(p: Plot, rows: list[dict[str, Any]], *, wake: bool = True) -> None:
    """Note the flags the board shows on each case (the ones not cleared already), and wake
    the case's story to check them."""
    for row in rows:
        case = p.world.cases.get(UUID(str(row.get("case_id"))))
        if case is None:
            continue
        for raised in row.get("flags") or ():
            flag_id = UUID(str(raised["flag_id"]))
            if flag_id in case.flags or flag_id in case.cleared:
                continue
            resource = raised.get("resource_id")
            when = p.now
            if p.world.told_clock and raised.get("raised_at"):
                when = min(p.now, p.world.minute_of(datetime.fromisoformat(raised["raised_at"])))
            case.flags[flag_id] = Flag(flag_id, str(raised.get("reason")),
                                       UUID(resource) if resource else None, when)
            p.world.tally.flags_seen += 1
            if wake and case.story is not None:
                p.engine.wake(case.story)
