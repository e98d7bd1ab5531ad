"""Per-process CPU time and peak memory from /proc (Linux), to say where the cores went."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU seconds the process used so far (0 when it is gone); with
    `reaped_children`, also that of its children that exited (a postmaster's backends)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICKS


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process in MB."""
    return _kb_field(Path(f"/proc/{pid}/status"), "VmHWM:")


def pss_mb(pid: int) -> float | None:
    """Proportional set size of a live process now, in MB: each shared page counted as its
    share (what a group of processes holds together without counting shared pages twice)."""
    return _kb_field(Path(f"/proc/{pid}/smaps_rollup"), "Pss:")


class PeakPss:
    """The largest summed PSS of a process and all processes under it, sampled every
    `interval` seconds on a thread of its own while started (the kernel keeps a peak for
    RSS, VmHWM, but none for PSS)."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        self.root, self.interval = root, interval
        self.peak: float | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pss-sampler", daemon=True)

    def start(self) -> PeakPss:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def sample(self) -> None:
        known = [p for p in map(pss_mb, process_tree(self.root)) if p is not None]
        if known:
            self.samples += 1
            self.peak = max(self.peak or 0.0, sum(known))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def _kb_field(path: Path, name: str) -> float | None:
    """A "Name: N kB" line of a /proc file, in MB (None if the process is gone)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def parent_pid(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def family(root: int | None) -> list[int]:
    """`root` and its direct children (a postmaster and its backends), if it is local."""
    if root is None:
        return []
    found = [root]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and parent_pid(int(entry.name)) == root:
            found.append(int(entry.name))
    return found


def process_tree(root: int) -> list[int]:
    """`root` and every process under it (HTTP workers, a writer process)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = parent_pid(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


ROLES = (("writer process", "writer"), ("HTTP worker", "http_workers"),
         ("supervisor, projections", "supervisor_projections_policies"))
"""Markers in the process titles `corridor serve --writer-process` gives its processes."""


def role_of(pid: int) -> str:
    """What a process of the API does, from its command line (its title)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    return next((role for marker, role in ROLES if marker in command), "supervisor")


def tree_cpu_seconds(root: int) -> dict[int, float]:
    """CPU seconds so far of each process in `root`'s tree."""
    return {pid: cpu_seconds(pid) for pid in process_tree(root)}


def own_cpu_seconds() -> float:
    """This process and its children that ended (a parallel rebuild's fill processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    parts = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])
    return (total - idle) / TICKS, total / TICKS


@dataclass
class CpuSample:
    at: float
    api: dict[int, float]
    postgres: dict[int, float]
    generator: float
    machine_busy: float
    machine_total: float


class CpuMeter:
    """CPU used by the API (all its processes), PostgreSQL, the load generator and everything
    else on the machine (other people's work included) between its start and `cores()`."""

    def __init__(self, api_pid: int | None, postmaster_pid: int | None,
                 extra: Iterable[tuple[str, int]] = ()) -> None:
        self.api_pid = api_pid
        self.postmaster_pid = postmaster_pid
        self.extra = list(extra)
        self._start = self._sample()
        self._extra_start = {label: cpu_seconds(pid) for label, pid in self.extra}

    def _sample(self) -> CpuSample:
        busy, total = machine_busy_seconds()
        return CpuSample(at=time.monotonic(),
                         api=tree_cpu_seconds(self.api_pid) if self.api_pid else {},
                         postgres={p: cpu_seconds(p, reaped_children=p == self.postmaster_pid)
                                   for p in family(self.postmaster_pid)},
                         generator=own_cpu_seconds(), machine_busy=busy, machine_total=total)

    def cores(self) -> dict[str, float]:
        """Cores in use per party since the meter started (1.0 = one core fully busy)."""
        end = self._sample()
        start = self._start
        wall = max(end.at - start.at, 1e-9)
        postgres = sum(cpu - start.postgres.get(pid, 0.0) for pid, cpu in end.postgres.items())
        api = sum(cpu - start.api.get(pid, 0.0) for pid, cpu in end.api.items())
        parts: dict[str, float] = {}
        for pid, cpu in end.api.items():
            part = f"api_{role_of(pid)}"
            parts[part] = parts.get(part, 0.0) + (cpu - start.api.get(pid, 0.0)) / wall
        used = {"api": api / wall, "postgres": postgres / wall,
                "bench_process": (end.generator - start.generator) / wall}
        for label, pid in self.extra:
            used[label] = (cpu_seconds(pid) - self._extra_start[label]) / wall
        share = (end.machine_busy - start.machine_busy) / max(
            end.machine_total - start.machine_total, 1e-9)
        used["machine"] = share * (os.cpu_count() or 1)
        used["other_processes"] = max(0.0, used["machine"] - sum(
            v for k, v in used.items() if k != "machine"))
        if len(parts) > 1:
            used.update(parts)
        return {k: round(v, 2) for k, v in used.items()}
