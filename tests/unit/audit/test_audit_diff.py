"""Two states compared field by field."""

from __future__ import annotations

from services.audit.diff import describe, diff_states
from services.audit.models import FieldChange


def test_equal_states_have_no_changes() -> None:
    assert diff_states({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 2]}) == []


def test_added_removed_and_changed_fields_are_named() -> None:
    changes = diff_states({"status": "unassigned", "gone": 1}, {"status": "assigned", "new": 2})

    assert changes == [
        FieldChange(path="status", change="changed", before="unassigned", after="assigned"),
        FieldChange(path="gone", change="removed", before=1),
        FieldChange(path="new", change="added", after=2),
    ]


def test_nested_objects_are_compared_by_path() -> None:
    changes = diff_states({"personal": {"name": "Iryna", "phone": "1"}},
                          {"personal": {"name": "Iryna", "phone": "2"}})

    assert [(c.path, c.before, c.after) for c in changes] == [("personal.phone", "1", "2")]


def test_lists_report_the_items_that_came_and_went() -> None:
    [change] = diff_states({"ids": ["a", "b", "b"]}, {"ids": ["b", "c", "a"]})

    assert change.added == ["c"]
    assert change.removed == ["b"]


def test_a_reordered_list_is_a_change_without_additions() -> None:
    [change] = diff_states({"ids": [1, 2]}, {"ids": [2, 1]})

    assert (change.added, change.removed) == ([], [])
    assert describe(change) == "ids: reordered"


def test_a_state_that_did_not_exist_yet_diffs_as_all_added() -> None:
    changes = diff_states(None, {"status": "unassigned"})

    assert changes == [FieldChange(path="status", change="added", after="unassigned")]


def test_changes_read_as_one_line_each() -> None:
    changes = diff_states({"status": "a", "ids": [1], "x": 1}, {"status": "b", "ids": [1, 2]})

    assert [describe(c) for c in changes] == ["status: a -> b", "ids: + 2", "x: - 1"]
