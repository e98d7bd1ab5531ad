"""Nobody checks their own report, and that is the rule they are told even when they lack
the fact-checker role: no role would let them (issue 20, item 7)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domain_builders import banned, meta, reported, supervisor, volunteer

from domain.errors import CannotVerifyOwnReport, NotAFactChecker, VolunteerBanned
from domain.resource import Resource
from domain.volunteer import Volunteer

CHECKS: dict[str, Callable[[Resource, Volunteer], None]] = {
    "verify": lambda r, by: r.verify(by=by, meta=meta()),
    "reject": lambda r, by: r.reject(reason="fake", by=by, meta=meta()),
}


@pytest.mark.parametrize("check", CHECKS, ids=list(CHECKS))
def test_a_supervisor_checking_their_own_report_hears_the_own_report_rule(check: str) -> None:
    boss = supervisor()
    resource = reported(reporter=boss)

    with pytest.raises(CannotVerifyOwnReport, match="their own report"):
        CHECKS[check](resource, boss)

    assert resource.version == 1


@pytest.mark.parametrize("check", CHECKS, ids=list(CHECKS))
def test_someone_else_without_the_role_still_hears_the_role_rule(check: str) -> None:
    with pytest.raises(NotAFactChecker):
        CHECKS[check](reported(reporter=volunteer()), supervisor())


def test_a_banned_reporter_hears_that_they_are_banned() -> None:
    reporter = volunteer()
    resource = reported(reporter=reporter)
    banned(reporter)

    with pytest.raises(VolunteerBanned):
        resource.verify(by=reporter, meta=meta())


