"""Memory: the API's peak memory (VmHWM of one process, or the summed PSS of the processes
of `serve --writer-process`) and the projection process's peak RSS, measured under the load of
the commands and lag sections (the lag run is made if needed)."""

from __future__ import annotations

from bench.context import BenchContext
from bench.report import Figure
from bench.sections import lag
from bench.server import ApiShape
from bench.stats import Target

API_RSS_TARGET = Target(250, "at_most")


async def run(ctx: BenchContext) -> None:
    if "worker_rss_mb" not in ctx.results:
        await lag.run(ctx)  # the load that makes both processes work
    during = ctx.results.get("api_rss_during", "the projection lag run")
    value, note = _api_memory(ctx.config.api, ctx.results.get("api_rss_mb"),
                              ctx.results.get("api_rss_each_mb") or [],
                              ctx.results.get("api_pss_mb"))
    ctx.report.add(Figure("memory", "API peak memory, all its processes", value, "MB",
                          API_RSS_TARGET, [], f"{note}, during {during}"))
    other = ctx.results.get("api_other_shape")
    if other is not None:
        shape, other_rss, other_each, other_pss = other
        value, note = _api_memory(shape, other_rss, other_each, other_pss)
        ctx.report.add(Figure("memory", f"API peak memory, as {shape.short}", value, "MB",
                              None, [], f"{note}, during the load at "
                              f"{ctx.config.target_clients} clients (the commands section's "
                              "other API shape)"))
    for label, rss in ctx.results["worker_rss_mb"].items():
        ctx.report.add(Figure("memory", f"{label} peak RSS (VmHWM)", rss, "MB", None, [],
                              f"{ctx.report.details.get('lag', {}).get('path', label)}, "
                              "after the projection lag run"))


def _api_memory(shape: ApiShape, rss: float | None, each: list[tuple[str, float]],
                pss: float | None) -> tuple[float | None, str]:
    """The API's memory figure and what it is. One process: its peak resident set
    (VmHWM). Several processes forked from one: the peak of their summed proportional set
    sizes (PSS), because summed resident sets count every page they share (the imported
    code) once per process; the summed VmHWM is given beside it."""
    if not shape.writer_process or len(each) < 2:
        return rss, f"{shape.label}, one process: peak RSS (VmHWM)"
    parts = ", ".join(f"{role.replace('_', ' ')} {mb:.0f}" for role, mb in each)
    shown, summed = (f"{mb:.0f} MB" if mb is not None else "not measured" for mb in (pss, rss))
    return pss, (f"{shape.label}, {len(each)} processes forked from one: peak of their "
                 f"summed PSS (sampled every 0.5 s), {shown}; their summed peak RSS (VmHWM), "
                 f"which counts shared pages once per process: {summed} ({parts} MB)")
