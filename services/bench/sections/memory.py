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
    each = ctx.results.get("api_rss_each_mb") or []
    parts = ", ".join(f"{role.replace('_', ' ')} {mb:.0f}" for role, mb in each)
    shape = (f"`corridor serve --workers {workers}`: the sum over its {len(each)} processes "
             f"({parts} MB)" if workers > 1 and each else "`corridor serve`, one process")
    pss = ctx.results.get("api_pss_mb")
    baselines = ([f"proportional set size (PSS) of the same processes at the end: {pss:.0f} MB"]
                 if pss is not None and workers > 1 else [])
    ctx.report.add(Figure("memory", "API peak RSS (VmHWM), all its processes", api_rss, "MB",
                          API_RSS_TARGET, baselines, f"{shape}, after {during}"))
    one = ctx.results.get("api_one_process_rss_mb")
    if one is not None:
        ctx.report.add(Figure("memory", "API peak RSS (VmHWM), as one process", one, "MB",
                              None, [], "`corridor serve` without --workers, after the load "
                              f"at {ctx.config.target_clients} clients (the commands "
                              "section's one-process baseline)"))
    for label, rss in ctx.results["worker_rss_mb"].items():
        ctx.report.add(Figure("memory", f"{label} peak RSS (VmHWM)", rss, "MB", None, [],
                              f"{ctx.report.details.get('lag', {}).get('path', label)}, "
                              "after the projection lag run"))
