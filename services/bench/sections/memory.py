"""Memory: peak resident set (VmHWM) of the API process and of the projection process,
measured under the load of the commands and lag sections (the lag run is made if needed)."""

from __future__ import annotations

from services.bench.context import BenchContext
from services.bench.report import Figure
from services.bench.sections import lag
from services.bench.stats import Target

API_RSS_TARGET = Target(250, "at_most")


async def run(ctx: BenchContext) -> None:
    if "worker_rss_mb" not in ctx.results:
        await lag.run(ctx)  # the load that makes both processes work
    api_rss = ctx.results.get("api_rss_mb")
    during = ctx.results.get("api_rss_during", "the projection lag run")
    workers = ctx.config.api_workers
    pss = ctx.results.get("api_pss_mb")
    baselines = ([f"proportional set size (PSS) of the same processes at the end: {pss:.0f} MB"]
                 if pss is not None and workers > 1 else [])
    shape = _shape(workers, ctx.results.get("api_rss_each_mb") or [])
    ctx.report.add(Figure("memory", "API peak RSS (VmHWM), all its processes", api_rss, "MB",
                          API_RSS_TARGET, baselines, f"{shape}, after {during}"))
    other = ctx.results.get("api_other_shape")
    if other is not None:
        other_workers, other_rss, other_each = other
        ctx.report.add(Figure("memory", f"API peak RSS (VmHWM), as {_label(other_workers)}",
                              other_rss, "MB", None, [],
                              f"{_shape(other_workers, other_each)}, after the load at "
                              f"{ctx.config.target_clients} clients (the commands section's "
                              "other API shape)"))
    for label, rss in ctx.results["worker_rss_mb"].items():
        ctx.report.add(Figure("memory", f"{label} peak RSS (VmHWM)", rss, "MB", None, [],
                              f"{ctx.report.details.get('lag', {}).get('path', label)}, "
                              "after the projection lag run"))


def _label(workers: int) -> str:
    return "one process" if workers == 1 else f"--workers {workers}"


def _shape(workers: int, each: list[tuple[str, float]]) -> str:
    if workers == 1 or not each:
        return "`corridor serve`, one process"
    parts = ", ".join(f"{role.replace('_', ' ')} {mb:.0f}" for role, mb in each)
    return (f"`corridor serve --workers {workers}`: the sum over its {len(each)} processes "
            f"({parts} MB)")
