"""Which memory figure the benchmark holds the API to, by its shape."""

from __future__ import annotations

import os

import pytest

from bench.sections.memory import _api_memory
from bench.server import ApiShape

ONE, SPLIT = ApiShape(writer_process=False), ApiShape(writer_process=True)


def test_one_process_is_held_to_its_peak_resident_set() -> None:
    value, note = _api_memory(ONE, 206.0, [("supervisor", 206.0)], 180.0)
    assert value == 206.0
    assert "VmHWM" in note and "PSS" not in note


def test_forked_processes_are_held_to_their_summed_pss_with_summed_rss_beside_it() -> None:
    each = [("writer", 176.0), ("http_workers", 89.0), ("supervisor", 87.0)]
    value, note = _api_memory(SPLIT, 352.0, each, 231.0)
    assert value == 231.0
    assert "summed PSS" in note and "231 MB" in note
    assert "352 MB (writer 176, http workers 89, supervisor 87 MB)" in note


def test_a_pss_that_was_not_measured_is_no_figure() -> None:
    value, note = _api_memory(SPLIT, 352.0, [("writer", 176.0), ("supervisor", 87.0)], None)
    assert value is None and "not measured" in note


def test_the_shapes_name_their_serve_options() -> None:
    assert ONE.label == "`corridor serve --one-process`" and ONE.other() == SPLIT
    assert SPLIT.label == "`corridor serve --writer-process`" and SPLIT.other() == ONE
    assert ApiShape(workers=2).args == ["--writer-process", "--workers", "2"]


def test_the_default_shape_passes_no_option_and_says_what_it_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    default = ApiShape.default()

    assert default.args == [] and default.label == "`corridor serve`"
    assert default.writer_process and default.short == "the default (a writer process)"
