"""The benchmark's PSS sampler over a real process tree (/proc, a forked child)."""

from __future__ import annotations

import multiprocessing
import os
import time

from bench.procstat import PeakPss, pss_mb


def _hold(ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event,
          mb: int) -> None:
    block = bytearray(os.urandom(mb * 1024 * 1024))  # written: resident, private
    ready.set()
    release.wait(30)
    del block


def test_the_sampled_peak_includes_a_child_and_outlives_its_exit() -> None:
    fork = multiprocessing.get_context("fork")
    ready, release = fork.Event(), fork.Event()
    sampler = PeakPss(os.getpid(), interval=0.05)
    sampler.sample()
    alone = sampler.peak
    child = fork.Process(target=_hold, args=(ready, release, 64))
    child.start()
    try:
        assert ready.wait(30)
        sampler.start()
        time.sleep(0.3)
    finally:
        release.set()
        child.join(30)
    time.sleep(0.2)
    sampler.stop()
    assert alone is not None and sampler.peak is not None
    assert sampler.peak >= alone + 60  # the child's 64 MB counted while it ran
    assert (pss_mb(os.getpid()) or 0) < sampler.peak - 60  # and kept after it ended
    assert sampler.samples >= 3
