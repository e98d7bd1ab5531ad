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
    ctx.report.add(Figure("memory", "API process peak RSS (VmHWM)", api_rss, "MB",
                          API_RSS_TARGET, [], f"`corridor serve`, after {during}"))
    for label, rss in ctx.results["worker_rss_mb"].items():
        ctx.report.add(Figure("memory", f"{label} peak RSS (VmHWM)", rss, "MB", None, [],
                              f"{ctx.report.details.get('lag', {}).get('path', label)}, "
                              "after the projection lag run"))
