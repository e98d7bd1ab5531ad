"""The same person twice: what identifies a person for matching (normalised, then kept only as
a keyed hash by the infrastructure), the policy that marks matching active cases as possible
duplicates, and merging two cases, or telling them apart, by a supervisor."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from uuid import UUID, uuid5

from domain.base import CoordinationError, InvalidCommand, Meta
from domain.follow_ups import MarkPossibleDuplicate
from domain.policies import follow_up_meta

POSSIBLE_DUPLICATE = "possible_duplicate"
"""The policy's name: its follow-ups are recorded as actor policy:possible_duplicate."""
ASK_A_SUPERVISOR = "possible duplicate, ask a supervisor"
"""What someone who may not see the other case is told about it."""


class IdentifierKind(StrEnum):
    """What a blind-index entry was made from."""

    PHONE = "phone"
    HANDLE = "handle"
    NAME_BIRTH_YEAR = "name_birth_year"


class NotPossibleDuplicates(CoordinationError):
    """Only cases marked as possible duplicates of each other are told apart."""


class CannotMergeIntoItself(InvalidCommand):
    """A merge names two different cases."""


_HANDLE_SPACE = re.compile(r"\s+")
_PHONE_LIKE = re.compile(r"^\+?[\d\s\-().]+$")


def looks_like_phone(text: str) -> bool:
    """True for a contact made of digits, spaces and + - ( ) . with 7 to 15 digits."""
    digits = sum(ch.isdigit() for ch in text)
    return bool(_PHONE_LIKE.match(text.strip())) and 7 <= digits <= 15


def normalise_handle(text: str) -> str | None:
    """A messenger handle as one string whatever its case, a leading @ and any spaces
    (None if nothing is left)."""
    handle = _HANDLE_SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    handle = handle.lstrip("@")
    return handle or None


def normalise_name(name: str, birth_year: int | None) -> str | None:
    """A name and birth year as one string whatever the case, spacing and diacritics
    (Олена and ОЛЕНА, José and Jose); None without both."""
    if birth_year is None:
        return None
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = unicodedata.normalize("NFKC", bare).casefold().split()
    return f"{' '.join(words)}|{birth_year}" if words else None


def match_duplicates(case_id: UUID, matches: Mapping[UUID, set[str]], trigger: Meta,
                     trigger_id: UUID) -> list[MarkPossibleDuplicate]:
    """A case just opened whose blind index matches other active cases (by the kinds
    matched): mark it and each of them as possible duplicates of the other. Command ids
    derive from the opening and the target, so a rerun issues the same commands."""
    commands = []
    for other_id, kinds in sorted(matches.items()):
        if other_id == case_id or not kinds:
            continue
        matched_on = tuple(sorted(kinds))
        for target, other in ((case_id, other_id), (other_id, case_id)):
            meta = follow_up_meta(POSSIBLE_DUPLICATE, trigger, trigger_id,
                                  uuid5(target, str(other)))
            commands.append(MarkPossibleDuplicate(case_id=target, other_case_id=other,
                                                  matched_on=matched_on, meta=meta))
    return commands
