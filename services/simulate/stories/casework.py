"""What a volunteer does with a case they hold, whatever the journey: take it up (or have a
supervisor assign it), record on it, look at it again after a while, check and clear the flags
the board shows (advice to stay first if a route or transport it relied on was recalled), hand
it over when their shift ends, and close it: as evacuated or stays only once no flag is raised,
as the server requires."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.simulate.engine import Answer, sleep
from services.simulate.stories import coordination, seats
from services.simulate.stories.common import Plot, Steps
from services.simulate.world import CaseFile, Flag, Member

TO_STAY = "Stay where you are tonight: the route is being shelled. We call you at 7:00."


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
            if case.urgent and waited >= 15 and supervisors:
                supervisor = p.rng.choice(supervisors)
                member = (yield from suggested_volunteer(p, case, supervisor)) or member
                member.cases.add(case.id)
                answer = yield from p.do("assign", "/cases/assign", supervisor.actor,
                                         case_id=case.id, volunteer_id=member.id)
            else:
                member.cases.add(case.id)
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


def suggested_volunteer(p: Plot, case: CaseFile, supervisor: Member) -> Steps:
    """The first volunteer the server suggests for the case who can take it (None: no
    suggestions, or none who can)."""
    advice = yield from coordination.suggested(p, case, supervisor, volunteers=5, resources=0,
                                               near_misses=0)
    known = coordination.first_known(p.world, (advice or {}).get("volunteers") or (),
                                     "volunteer_id")
    chosen = next((m for m in known if isinstance(m, Member) and m.can_take()), None)
    if chosen is not None:
        p.world.tally.events["urgent cases assigned from the server's suggestions"] += 1
    return chosen


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


def pause(p: Plot, case: CaseFile, low: float, high: float) -> Steps:
    """Time passes; then the volunteer tries to reach the person (not always with luck) and
    looks at the case again (flags, handing back)."""
    yield from sleep(p.minutes(low, high))
    yield from keep_in_touch(p, case)
    yield from attend(p, case)


CONTACT_CHANNELS = ("phone", "telegram", "viber", "signal", "sms")


def keep_in_touch(p: Plot, case: CaseFile) -> Steps:
    """Half the time the volunteer calls or writes; one try in five goes unanswered (the
    try is recorded either way, so the silence watch and an auditor see it)."""
    if p.world.can("/cases/record-contact") and case.outcome is None and p.chance(0.5):
        reached = p.chance(0.8)
        answer = yield from act(p, case, "contact", "/cases/record-contact",
                                channel=p.rng.choice(CONTACT_CHANNELS), reached=reached)
        if answer.ok and not reached:
            p.world.tally.events["contact tries that reached nobody"] += 1


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


def close(p: Plot, case: CaseFile, outcome: str, /, **fields: object) -> Steps:
    """Close with an outcome; evacuated and stays clear every raised flag first, as the board
    shows them (and as a refusal names those it had not shown yet); `fields` go with the
    command (a referred case names its accepted referral). Returns the outcome, or None."""
    if outcome in ("evacuated", "stays") and case.assignee is not None:
        board = yield from p.look("/board", case.assignee.actor, assignee_id=case.assignee.id,
                                  flagged="true", limit=200, **p.world.as_of(p.now))
        if board.ok and isinstance(board.body, dict):
            seen(p, board.body.get("cases") or [], wake=False)
    for _ in range(3):
        if outcome in ("evacuated", "stays"):
            for flag in list(case.flags.values()):
                yield from clear(p, case, flag)
        answer = yield from act(p, case, "close", "/cases/close", outcome=outcome, **fields)
        if answer.ok:
            case.outcome = outcome
            seats.let_go(case)  # closing frees the seats the case held
            if case.assignee is not None:
                case.assignee.cases.discard(case.id)
            return outcome
        if answer.rule != "FlagsStillRaised" or not isinstance(answer.body, dict):
            return None
        for raised in answer.body.get("flags") or ():
            flag_id = uuid_of(raised.get("flag_id"))
            if flag_id is not None and flag_id not in case.flags:
                p.world.tally.flags_seen += 1
                case.flags[flag_id] = Flag(flag_id, str(raised.get("reason")), None, p.now)
    return None


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


def uuid_of(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None
