"""The resource directory projection: one row per resource, its verification and status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

from projection_events import T0, Stream, apply, only, personal

from projections.catalog import RESOURCE_DIRECTORY
from projections.records import EventRecord
from projections.resource_directory import project


def reported(resource: Stream, **extra: Any) -> list[EventRecord]:
    data: dict[str, Any] = {
        "kind": "shelter", "region": "lviv", "place": "school 3", "details": "gym",
        "capacity": 40, "contact": personal(uuid4()), "reported_by": str(uuid4()), **extra}
    return [resource.event("ResourceReported", **data)]


def test_a_verified_resource_has_an_expiry_and_hides_its_contact() -> None:
    resource, checker = Stream("resource"), str(uuid4())
    expires = T0 + timedelta(hours=6)
    records = [*reported(resource),
               resource.event("ResourceVerified", verified_by=checker,
                              expires_at=expires.isoformat(), at_minute=10)]

    row = only(apply(RESOURCE_DIRECTORY, records).rows("resource_directory"))

    assert (row["verification"], row["verified_by"], row["expires_at"]) == (
        "verified", checker, expires)
    assert row["has_contact"] is True
    assert "contact" not in row


def test_status_changes_and_occupancy_are_kept() -> None:
    resource = Stream("resource")
    records = [*reported(resource), resource.event("OccupancyUpdated", occupancy=40,
                                                   capacity=40),
               resource.event("ResourceMarkedUnsafe", reason="shelled", at_minute=5)]

    row = only(apply(RESOURCE_DIRECTORY, records).rows("resource_directory"))

    assert (row["occupancy"], row["status"], row["status_reason"]) == (40, "unsafe",
                                                                      "shelled")
    assert row["status_changed_at"] == T0 + timedelta(minutes=5)


def test_rejection_and_expiry_take_the_verification_away() -> None:
    resource = Stream("resource")
    verified = resource.event("ResourceVerified", verified_by=str(uuid4()),
                              expires_at=(T0 + timedelta(hours=2)).isoformat())
    expired = [*reported(resource), verified,
               resource.event("VerificationExpired", expired_at=verified.data["expires_at"])]
    assert only(apply(RESOURCE_DIRECTORY, expired).rows("resource_directory"))[
        "verification"] == "expired"

    rejected = [*expired, resource.event("ResourceRejected", rejected_by=str(uuid4()),
                                         reason="a ruin")]
    row = only(apply(RESOURCE_DIRECTORY, rejected).rows("resource_directory"))
    assert (row["verification"], row["expires_at"]) == ("rejected", None)


def test_other_streams_are_ignored() -> None:
    assert project(Stream("case").event("Departed")) == []
