"""The intake survey a case is opened from, and the urgency that follows from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.base import PersonalData
from domain.errors import InvalidIntake
from domain.vocabulary import Urgency

ADULT_AGE = 18
PERSONAL_FIELDS = ("name", "contact_handle", "exact_location", "health_details", "notes")


@dataclass(frozen=True)
class Intake:
    """A person's survey answers; names, handles, exact places and health stay personal."""

    safe_now: bool
    region: str
    destination: str
    contact_channel: str
    adults: int = 1
    children_ages: Sequence[int] = ()
    pets: int = 0
    mobility_needs: bool = False
    medical_needs: bool = False
    needs_medicine: bool = False
    needs_food: bool = False
    needs_clothes: bool = False
    languages: Sequence[str] = ()
    name: str = ""
    contact_handle: str = ""
    exact_location: str = ""
    health_details: str = ""
    notes: str = ""
    birth_year: int | None = None
    """Personal, with the name: finds the same person asking twice (the blind index)."""

    @property
    def children(self) -> int:
        """How many children travel with the person."""
        return len(self.children_ages)

    @property
    def alone(self) -> bool:
        """True when the person is one adult with nobody else."""
        return self.adults == 1 and not self.children_ages

    def validate(self) -> None:
        """Raise InvalidIntake when the answers contradict themselves."""
        if self.adults < 0 or self.pets < 0:
            raise InvalidIntake("adults and pets cannot be negative")
        if self.adults + self.children < 1:
            raise InvalidIntake("a case is about at least one person")
        if any(not 0 <= age < ADULT_AGE for age in self.children_ages):
            raise InvalidIntake(f"children's ages must be between 0 and {ADULT_AGE - 1}")
        for answer in ("region", "destination", "contact_channel"):
            if not getattr(self, answer).strip():
                raise InvalidIntake(f"{answer} is required")

    def readable_answers(self) -> dict[str, Any]:
        """The board-relevant answers, JSON-friendly (lists, not tuples)."""
        return {
            "safe_now": self.safe_now, "region": self.region,
            "destination": self.destination, "contact_channel": self.contact_channel,
            "adults": self.adults, "children_ages": list(self.children_ages),
            "pets": self.pets, "mobility_needs": self.mobility_needs,
            "medical_needs": self.medical_needs, "needs_medicine": self.needs_medicine,
            "needs_food": self.needs_food, "needs_clothes": self.needs_clothes,
            "languages": list(self.languages),
        }

    def personal_data(self, person_id: UUID) -> PersonalData:
        """The answers that identify or describe the person, sealed apart from the rest."""
        fields = {f: getattr(self, f) for f in PERSONAL_FIELDS}
        if self.birth_year is not None:
            fields["birth_year"] = self.birth_year
        return PersonalData.of(person_id, **fields)


def assess_urgency(intake: Intake) -> Urgency:
    """Urgency from the answers.

    critical: not safe now and vulnerable (children, mobility or medical needs, medicine);
    high: not safe now, or safe but with medical needs or needing medicine;
    medium: safe, but with children, mobility needs, or needing food or clothes;
    low: everything else.
    """
    medical = intake.medical_needs or intake.needs_medicine
    vulnerable = medical or intake.mobility_needs or intake.children > 0
    if not intake.safe_now:
        return Urgency.CRITICAL if vulnerable else Urgency.HIGH
    if medical:
        return Urgency.HIGH
    if vulnerable or intake.needs_food or intake.needs_clothes:
        return Urgency.MEDIUM
    return Urgency.LOW
