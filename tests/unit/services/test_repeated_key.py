"""Finding a key that one JSON object names twice, at any depth."""

from __future__ import annotations

import pytest

from services.commands.common import repeated_key


@pytest.mark.parametrize(("document", "key"), [
    (b'{"a": 1, "b": 2, "a": 3}', "a"),
    (b'{"a": {"x": 1, "x": 1}}', "x"),
    (b'[{"ok": 1}, {"y": [], "y": null}]', "y")])
def test_a_key_named_twice_in_one_object_is_found(document: bytes, key: str) -> None:
    assert repeated_key(document) == key


@pytest.mark.parametrize("document", [b'{"a": 1, "b": {"a": 2}}', b"[]", b'"a"'])
def test_the_same_key_in_different_objects_is_no_repeat(document: bytes) -> None:
    assert repeated_key(document) is None


@pytest.mark.parametrize("document", [b'{"a": ', b"\xff", b"[" * 100_000 + b"]" * 100_000])
def test_what_cannot_be_parsed_here_is_left_to_the_parser_that_reports_it(
        document: bytes) -> None:
    assert repeated_key(document) is None
