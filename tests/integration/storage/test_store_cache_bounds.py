"""The store's caches are bounded by the writer's working set (CORRIDOR_AGGREGATE_CACHE_SIZE):
data keys and hash-chain heads as well as aggregates, so a long-running writer's memory
settles once its working set has (issue 26)."""

from __future__ import annotations

import os
from pathlib import Path
from uuid import uuid4

from services.settings import Settings
from services.storage.application import MIN_WORKING_SET, CorridorApplication


def application(tmp_path: Path, cache_size: int) -> CorridorApplication:
    return CorridorApplication(Settings(store="sqlite", data_dir=tmp_path,
                                        aggregate_cache_size=cache_size), os.urandom(32))


def test_data_keys_and_chain_heads_are_bounded_like_the_aggregate_cache(
        tmp_path: Path) -> None:
    app = application(tmp_path, 2_000)
    try:
        heads = app.recorder.heads  # type: ignore[attr-defined]
        assert app.keys.max_cached == heads.maxsize == 2_000

        app.keys.prefetch({uuid4() for _ in range(2_500)})

        assert app.keys.cached() <= 2_000
    finally:
        app.close()


def test_a_tiny_aggregate_cache_still_keeps_a_thousand_keys_and_heads(tmp_path: Path) -> None:
    app = application(tmp_path, 10)
    try:
        assert app.keys.max_cached == MIN_WORKING_SET == 1_000
    finally:
        app.close()
