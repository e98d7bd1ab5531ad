"""The service anchors its hash chain on its own, round after round."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.audit_replay import Scenario
from services.audit.anchoring import anchor_once, anchoring
from services.audit.verify import verify_store
from services.bootstrap import build_runtime
from services.settings import Settings


async def test_the_anchoring_hook_anchors_new_events_until_stopped(tmp_path: Any) -> None:
    runtime = await asyncio.to_thread(build_runtime, Settings(store="sqlite",
                                                              data_dir=tmp_path))
    try:
        await asyncio.to_thread(Scenario(runtime).volunteer, "Olena")
        stop = await anchoring(every_seconds=0.05)(runtime)
        for _ in range(100):
            report = await asyncio.to_thread(verify_store, runtime.app)
            if report.anchors:
                break
            await asyncio.sleep(0.05)
        await stop()

        assert report.ok and [a.ok for a in report.anchors][:1] == [True]
        assert report.anchors[0].from_position == 1
    finally:
        await asyncio.to_thread(runtime.close)


async def test_a_quiet_store_is_not_anchored_again(tmp_path: Any) -> None:
    runtime = await asyncio.to_thread(build_runtime, Settings(store="sqlite",
                                                              data_dir=tmp_path))
    try:
        scenario = Scenario(runtime)
        await asyncio.to_thread(scenario.volunteer, "Olena")
        first = await anchor_once(runtime)
        quiet = await anchor_once(runtime)  # only the first anchor's own events are new
        await asyncio.to_thread(scenario.volunteer, "Taras")
        after_news = await anchor_once(runtime)

        assert first is not None and quiet is None and after_news is not None
        report = await asyncio.to_thread(verify_store, runtime.app)
        assert report.ok and len(report.anchors) == 2
        assert report.anchors[1].from_position == report.anchors[0].to_position + 1
    finally:
        await asyncio.to_thread(runtime.close)
