"""What changed between two JSON states, field by field (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from services.audit.models import FieldChange
from services.audit.render import canonical


def diff_states(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
                prefix: str = "") -> list[FieldChange]:
    """Changes from `before` to `after`; nested objects are compared field by field."""
    old, new = before or {}, after or {}
    changes: list[FieldChange] = []
    for key in [*old, *(k for k in new if k not in old)]:
        path = f"{prefix}{key}"
        if key not in new:
            changes.append(FieldChange(path=path, change="removed", before=old[key]))
        elif key not in old:
            changes.append(FieldChange(path=path, change="added", after=new[key]))
        elif old[key] != new[key]:
            changes.extend(_changed(path, old[key], new[key]))
    return changes


def _changed(path: str, before: Any, after: Any) -> list[FieldChange]:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return diff_states(before, after, prefix=f"{path}.")
    if isinstance(before, list) and isinstance(after, list):
        added, removed = _list_delta(before, after)
        return [FieldChange(path=path, change="changed", before=before, after=after,
                            added=added, removed=removed)]
    return [FieldChange(path=path, change="changed", before=before, after=after)]


def _list_delta(before: list[Any], after: list[Any]) -> tuple[list[Any], list[Any]]:
    """Items that appeared and went away (as multisets: order changes are not additions)."""
    old = Counter(canonical(v) for v in before)
    new = Counter(canonical(v) for v in after)
    added_keys, removed_keys = new - old, old - new
    added = _take(after, added_keys)
    removed = _take(before, removed_keys)
    return added, removed


def _take(items: list[Any], wanted: Counter[str]) -> list[Any]:
    left = Counter(wanted)
    taken = []
    for item in items:
        key = canonical(item)
        if left[key] > 0:
            left[key] -= 1
            taken.append(item)
    return taken


def describe(change: FieldChange) -> str:
    """One line for a person: 'status: unassigned -> assigned'."""
    if change.change == "added":
        return f"{change.path}: + {_short(change.after)}"
    if change.change == "removed":
        return f"{change.path}: - {_short(change.before)}"
    if change.added is not None or change.removed is not None:
        parts = [f"+ {_short(v)}" for v in change.added or []]
        parts += [f"- {_short(v)}" for v in change.removed or []]
        return f"{change.path}: {', '.join(parts) or 'reordered'}"
    return f"{change.path}: {_short(change.before)} -> {_short(change.after)}"


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else canonical(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
