"""A request for help, from the intake bot's survey to its outcome: a volunteer takes it (or
a supervisor assigns it), calls the person, and follows the journey (stories.journey) until
the case closes as evacuated, stays, lost contact or referred elsewhere; then keeps in touch,
hears from people who wrote again, forgets those who ask, and answers complaints."""

from __future__ import annotations

from services.simulate import people
from services.simulate.commands import AUDITOR, INTAKE_BOT, new_id
from services.simulate.engine import sleep
from services.simulate.stories.casework import act, close, noted, pause, take_up
from services.simulate.stories.common import Plot, Steps
from services.simulate.stories.journey import CANNOT_LEAVE, evacuate, referred, stay
from services.simulate.world import CaseFile, Flag

PACK = "Pack documents, water, medicine and a charger; keep your phone on."
FATES = ("evacuate", "cannot_leave", "lost_contact", "referred")
"""How a case ends up (not all by the end of the day): see `fate`."""


def request_for_help(p: Plot, region: str, dangerous_hour: bool) -> Steps:
    """One person asks for help; the network follows them to an outcome."""
    case = yield from open_case(p, region, dangerous_hour)
    if case is None:
        return
    case.story = p.engine.current
    if case.asked_before and (yield from merged_away(p, case)):
        return
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
    again = bool(world.asked) and world.can("/cases/merge") and p.chance(0.03)
    who = p.rng.choice(world.asked) if again else people.person(p.rng, len(world.cases) + 1)
    world.asked.append(who)
    answers = people.intake(p.rng, who, region, dangerous_hour=dangerous_hour)
    if again:  # the same phone, typed another way, through the phone line this time
        answers.update(contact_channel="phone", contact_handle=who.phone.replace(" ", ""))
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
    case.asked_before = again
    world.cases[case.id] = case
    noted(case, answer)
    return case


def merged_away(p: Plot, case: CaseFile) -> Steps:
    """The same person asked again: a supervisor looks at the new case a little later and, if
    the server found it a possible duplicate of an open case, merges it into that one (True).
    Otherwise the new case is worked like any other."""
    supervisors = p.world.on_shift("supervisor")
    if not supervisors or not p.world.reads:
        return False
    yield from sleep(p.minutes(5, 20))
    supervisor = p.rng.choice(supervisors)
    seen = yield from p.look(f"/cases/{case.id}", supervisor.actor)
    found = (seen.body.get("duplicates") or {}).get("possible_duplicates") \
        if seen.ok and isinstance(seen.body, dict) else None
    if not found:
        return False
    answer = yield from p.do("merge", "/cases/merge", supervisor.actor,
                             case_id=found[0]["case_id"], merged_case_id=case.id)
    if answer.ok:
        case.outcome = "merged"
        p.world.tally.events["duplicate requests merged"] += 1
    return answer.ok


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
        return (yield from referred(p, case))
    if chosen == "cannot_leave":
        return (yield from stay(p, case, p.rng.choice(CANNOT_LEAVE)))
    return (yield from evacuate(p, case))


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
