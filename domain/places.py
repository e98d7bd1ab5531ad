"""How the network's places are matched: people write "Kharkiv", "Kharkiv oblast" or
"kharkiv" for one place, so a place is compared by its key (pure; Unicode-aware)."""

from __future__ import annotations

import re

GENERIC = frozenset({"oblast", "obl", "region", "city", "town", "raion", "district", "rayon",
                     "область", "обл", "місто", "м", "район", "город"})
"""Words that say what kind of place a name is, not which one."""
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?", re.UNICODE)
"""A word, with an apostrophe inside it (ASCII or typographic) kept: Kam'ianets."""


def place_key(name: str | None) -> str:
    """The key two spellings of one place share: case-folded words, generic words dropped
    (e.g. 'Kharkiv oblast' and 'kharkiv' both give 'kharkiv')."""
    text = (name or "").casefold().replace("\u2019", "'")
    words = [w for w in _WORD.findall(text) if w not in GENERIC]
    return " ".join(words)
