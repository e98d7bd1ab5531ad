"""The network's rules, one error class each; raised by guards before any event is triggered."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.base import CoordinationError, InvalidCommand
from domain.roles import Role


class NotPermitted(CoordinationError):
    """The acting person lacks the role or relationship this command needs."""

    http_status = 403


# --- who may act -------------------------------------------------------------------------


class NotASupervisor(NotPermitted):
    """Only supervisors assign cases, sanction volunteers and reopen cases they did not hold."""


class NotAFactChecker(NotPermitted):
    """Only fact-checkers verify or reject resources."""


class NotAnAdmin(NotPermitted):
    """Only admins grant and revoke roles."""


class NotCaseAssignee(NotPermitted):
    """Only the case's assignee (or a supervisor) may record its steps."""


class CannotVerifyOwnReport(NotPermitted):
    """Nobody verifies or rejects what they reported themselves."""


class CannotSanctionSelf(NotPermitted):
    """A supervisor cannot suspend, ban or reinstate themselves."""


class NotAPsychologist(InvalidCommand):
    """A support group needs a volunteer holding the psychologist role."""


# --- volunteers --------------------------------------------------------------------------


class VolunteerNotCleared(CoordinationError):
    """The volunteer has not completed the required training for casework."""


class VolunteerSuspended(CoordinationError):
    """The volunteer is suspended."""


class VolunteerBanned(CoordinationError):
    """The volunteer is banned."""


class VolunteerNotSanctioned(CoordinationError):
    """Only a suspended or banned volunteer can be reinstated."""


class RoleAlreadyHeld(CoordinationError):
    """The volunteer already holds this role."""


class RoleNotHeld(CoordinationError):
    """The volunteer does not hold this role."""


class ShiftAlreadyStarted(CoordinationError):
    """A shift cannot start while another is running."""


class ShiftNotStarted(CoordinationError):
    """A shift cannot end when none is running."""


# --- cases -------------------------------------------------------------------------------


class CaseClosed(CoordinationError):
    """A closed case takes no steps, notes, flags or assignments."""


class CaseNotClosed(CoordinationError):
    """Only a closed case can be reopened."""


class CaseAlreadyTaken(CoordinationError):
    """The case already has this or another assignee."""


class CaseNotTaken(CoordinationError):
    """The case has no assignee to release."""


class StepOutOfOrder(CoordinationError):
    """The journey step does not follow from the stage the journey is in."""

    def __init__(self, step: str, stage: str) -> None:
        super().__init__(f"{step} cannot follow stage '{stage}'")
        self.step = step
        self.stage = stage


class OutcomeContradictsJourney(InvalidCommand):
    """The outcome does not match the journey (e.g. evacuated before arriving)."""


class FlagAlreadyRaised(CoordinationError):
    """A flag with this id is already raised on the case."""


class FlagNotRaised(CoordinationError):
    """No raised flag has this id."""


class FlagsStillRaised(CoordinationError):
    """A case closes as evacuated or stays only once each raised flag is checked and cleared:
    those outcomes say the person is safe, a raised flag says something they rely on may not be.
    """

    def __init__(self, case_id: UUID, outcome: str, flags: list[tuple[UUID, str]]) -> None:
        raised = ", ".join(f"{flag_id} ({reason})" for flag_id, reason in flags)
        super().__init__(f"case {case_id} cannot close as '{outcome}' while flags are raised: "
                         f"{raised}; check each and clear it (clear-flag) first")
        self.flag_ids = [flag_id for flag_id, _ in flags]
        self.extra: dict[str, object] = {"outcome": outcome, "flags": [
            {"flag_id": str(flag_id), "reason": reason} for flag_id, reason in flags]}


class SupportGroupAlreadyFormed(CoordinationError):
    """The case already has a support group."""


class NoSupportGroup(CoordinationError):
    """The case has no support group."""


class AlreadyInSupportGroup(CoordinationError):
    """The volunteer is already in the case's support group."""


class NothingToErase(CoordinationError):
    """There is no unerased personal data of this subject here."""


class InvalidIntake(InvalidCommand):
    """The intake survey's answers contradict themselves."""


# --- resources ---------------------------------------------------------------------------


class ResourceNotUsable(CoordinationError):
    """The resource may not be handed out now; `reason` says why (its status, unverified,
    rejected, expired, full)."""

    def __init__(self, resource_id: UUID, reason: str) -> None:
        super().__init__(f"resource {resource_id} is not usable: {reason}")
        self.resource_id = resource_id
        self.reason = reason
        self.extra: dict[str, object] = {"resource_id": str(resource_id), "reason": reason}


class ShelterFull(ResourceNotUsable):
    """The shelter has no free place."""


class ResourceWithdrawn(CoordinationError):
    """The resource was retracted or destroyed; nothing more can happen to it."""


class ResourceStatusUnchanged(CoordinationError):
    """The resource already has the status this command would give it."""


class VerificationNotDue(CoordinationError):
    """The resource's verification has not run out (or it is not verified)."""


class NotAShelter(InvalidCommand):
    """Only shelters have capacity and occupancy."""


class OccupancyExceedsCapacity(InvalidCommand):
    """A shelter's occupancy must stay between zero and its capacity."""


class InvalidResource(InvalidCommand):
    """The resource report contradicts itself."""


# --- seats on transport ------------------------------------------------------------------


class NotATransport(InvalidCommand):
    """Only a transport offers seats: the resource is of another kind."""


class NoSeatsOffered(CoordinationError):
    """The transport has no seats on offer (none were reported for it yet)."""


class InvalidTransportOffer(InvalidCommand):
    """A transport offers at least one seat, takes only known things, and leaves before it
    stops leaving (its departure window ends after it starts)."""


class NotEnoughSeats(CoordinationError):
    """Held and confirmed seats never exceed the seats a transport offers."""

    def __init__(self, resource_id: UUID, wanted: int, offered: int, held: int,
                 confirmed: int) -> None:
        free = offered - held - confirmed
        super().__init__(f"transport {resource_id} has {free} of {offered} seats free "
                         f"({held} held, {confirmed} confirmed); {wanted} wanted")
        self.extra: dict[str, object] = {
            "resource_id": str(resource_id), "seats_wanted": wanted, "seats_offered": offered,
            "seats_held": held, "seats_confirmed": confirmed, "seats_free": max(free, 0)}


class TransportDoesNotFit(CoordinationError):
    """The transport does not take what the household brings (children, pets, a wheelchair
    or reduced mobility)."""

    def __init__(self, resource_id: UUID, misfits: list[str]) -> None:
        super().__init__(f"transport {resource_id} does not take the household's "
                         f"{', '.join(misfits)}")
        self.extra: dict[str, object] = {"resource_id": str(resource_id), "misfits": misfits}


class DepartureWindowPassed(CoordinationError):
    """The transport's departure window is over: it has left, nobody boards it any more."""

    def __init__(self, resource_id: UUID, departs_until: datetime) -> None:
        super().__init__(f"transport {resource_id} left by {departs_until.isoformat()}: its "
                         "departure window has passed")
        self.extra: dict[str, object] = {"resource_id": str(resource_id),
                                         "departs_until": departs_until.isoformat()}


class SeatsAlreadyHeld(CoordinationError):
    """A case holds seats on a transport once (a hold id names one hold): release the hold
    to hold a different number."""


class HoldNotHeld(CoordinationError):
    """No current hold on this transport (or for this case) has this id: it was released,
    lapsed or never made."""


class HoldAlreadyConfirmed(CoordinationError):
    """The hold is confirmed already."""


class HoldExpired(CoordinationError):
    """The hold ran out before it was confirmed: its seats are for others now; hold again."""

    def __init__(self, hold_id: UUID, until: datetime) -> None:
        super().__init__(f"hold {hold_id} ran out at {until.isoformat()}")
        self.extra: dict[str, object] = {"hold_id": str(hold_id), "until": until.isoformat()}


class HoldNotDue(CoordinationError):
    """Only an unconfirmed hold whose time has run out lapses."""


class CaseStillHoldsSeats(CoordinationError):
    """A case lets go of the seats it holds before it closes (closing a case through the
    command releases them in the same unit of work)."""


class SeatsStillHeld(CoordinationError):
    """A transport cannot offer fewer seats than are held and confirmed on it now: release
    holds first."""


# --- opening windows ----------------------------------------------------------------------


class InvalidWindow(InvalidCommand):
    """A window is once (it opens, closes or both) or daily (from one time of day to
    another), and closes after it opens."""


class WindowClosed(CoordinationError):
    """Nothing may rely on a resource outside its opening window (a corridor not open yet or
    any more, a checkpoint closed for the night, a curfew in force)."""

    def __init__(self, resource_id: UUID, window: dict[str, object], description: str,
                 opens_at: datetime | None) -> None:
        when = "it does not open again" if opens_at is None else (
            f"it opens at {opens_at.isoformat()}")
        super().__init__(f"resource {resource_id} is outside its window ({description}); "
                         f"{when}")
        self.extra: dict[str, object] = {
            "resource_id": str(resource_id), "window": window, "window_text": description,
            "opens_at": None if opens_at is None else opens_at.isoformat()}


class NaiveTime(InvalidCommand):
    """Business times must be timezone-aware."""


_ROLE_ERRORS: dict[Role, type[CoordinationError]] = {
    Role.SUPERVISOR: NotASupervisor,
    Role.FACT_CHECKER: NotAFactChecker,
    Role.ADMIN: NotAnAdmin,
    Role.PSYCHOLOGIST: NotAPsychologist,
}


def not_in_role(role: Role, volunteer_id: UUID) -> CoordinationError:
    """The specific error for acting in a role one does not hold."""
    error = _ROLE_ERRORS.get(role, NotPermitted)
    return error(f"volunteer {volunteer_id} is not a {role.value}")


# --- who may act on whom -----------------------------------------------------------------


class CannotGrantRole(NotPermitted):
    """Only someone who may grant a role gives it to another person, at registration as
    with grant-role: only an admin registers someone with a role beyond volunteer."""


class CannotSanctionAdmin(NotPermitted):
    """Only an admin suspends, bans or reinstates an admin: a supervisor's sanctions stop at
    the people who could take their own role away."""


class CannotCertifyOwnTraining(NotPermitted):
    """Nobody logs their own training: clearance for casework needs someone else's word."""
