"""`corridor audit ...`: the audit on the command line, directly on the store the settings
name (CORRIDOR_STORE, CORRIDOR_DATA_DIR or CORRIDOR_PG_DSN, CORRIDOR_MASTER_KEY).

Views are recorded in the access log like views over HTTP; the actor is --actor (or
CORRIDOR_AUDIT_ACTOR, or cli:<login name>).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.audit.models import ChainCheck, VerifyReport

T = TypeVar("T")
audit = typer.Typer(help="Replay, verify and export the history; anchor the hash chain.",
                    no_args_is_help=True)
out = Console()
err = Console(stderr=True)

ACTOR = typer.Option(None, "--actor", envvar="CORRIDOR_AUDIT_ACTOR",
                     help="who is looking (recorded in the access log)")


def _purpose(text: str) -> str:
    if not text.strip() or len(text.strip()) > 200:
        raise typer.BadParameter("say why, in 1 to 200 characters")
    return text.strip()


PURPOSE = typer.Option("audit", "--purpose", help="why (recorded in the access log)",
                       callback=_purpose)


def register(app: typer.Typer) -> None:
    """Add `corridor audit ...` to the command line."""
    app.add_typer(audit, name="audit")


@contextmanager
def _runtime() -> Iterator[Any]:
    import services.audit.access_commands  # noqa: F401  (registers the audit commands)
    from services.bootstrap import for_reading
    from services.settings import Settings

    runtime = for_reading(Settings())
    try:
        yield runtime
    finally:
        runtime.app.close()  # the writer thread was never started


def _actor(actor: str | None) -> str:
    return actor or f"cli:{getpass.getuser()}"


def _run(runtime: Any, name: str, body: Any, actor: str) -> Any:
    """Run one command through the writer on this thread; a rejection ends the command."""
    from services.audit.access import ensure_recorded

    [outcome] = runtime.writer.execute_now([runtime.submission(name, body, _principal(actor))])
    ensure_recorded(outcome)
    return outcome


def _shown(runtime: Any, viewed: Any, actor: str) -> Any:
    """The result, once the view is recorded (not recorded: not shown)."""
    _run(runtime, "audit.record_view", viewed.record, actor)
    return viewed.result


def _guarded(work: Callable[[], T]) -> T:
    from domain.base import CoordinationError

    try:
        return work()
    except CoordinationError as error:
        err.print(f"[red]{error.rule}[/red]: {error}")
        raise typer.Exit(2) from None


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=False)


# --- replay, as-of, diff, resources ----------------------------------------------------------


@audit.command()
def replay(stream_id: UUID, actor: str | None = ACTOR, purpose: str = PURPOSE,
           from_version: int = typer.Option(1, min=1), to_version: int | None = None,
           as_json: bool = typer.Option(False, "--json", help="the full history as JSON")) -> None:
    """A stream's history event by event (with the full state after each one in --json)."""
    from services.audit.diff import describe
    from services.audit.queries import AuditQueries

    who = _actor(actor)
    with _runtime() as runtime:
        history = _guarded(lambda: _shown(runtime, AuditQueries(runtime.app).history(
            stream_id, who, purpose, from_version=from_version, to_version=to_version), who))
    if as_json:
        out.print_json(history.model_dump_json())
        return
    table = Table(title=f"{history.type} {stream_id} (personal data {history.personal_data})")
    for column in ("#", "recorded", "event", "actor", "changes"):
        table.add_column(column)
    for e in history.entries:
        table.add_row(str(e.version), e.recorded_at.isoformat() if e.recorded_at else "",
                      e.type, e.meta.actor if e.meta else "",
                      "\n".join(describe(c) for c in e.changes))
    out.print(table)
    _print_chain(history.chain)


def _print_chain(chain: ChainCheck) -> None:
    if chain.intact:
        out.print(f"[green]chain intact[/green] over the {chain.events_checked} events shown")
    for broken in chain.breaks:
        out.print(f"[red]chain BROKEN[/red] at version {broken.version} position "
                  f"{broken.position} ({broken.kind}): {broken.detail}")


@audit.command("as-of")
def as_of(stream_id: UUID, version: int | None = typer.Option(None, min=0, max=2**53),
          at: str | None = typer.Option(None, help="ISO 8601 time with timezone"),
          actor: str | None = ACTOR, purpose: str = PURPOSE) -> None:
    """The stream's state as of a version or a time."""
    from services.audit.queries import AuditQueries
    from services.audit.replay import parse_time

    if (version is None) == (at is None):
        raise typer.BadParameter("give exactly one of --version and --at")
    when = _parsed("--at", parse_time, at) if at is not None else None
    who = _actor(actor)
    with _runtime() as runtime:
        state = _guarded(lambda: _shown(runtime, AuditQueries(runtime.app).as_of(
            stream_id, who, purpose, version=version, at=when), who))
    out.print_json(state.model_dump_json())


@audit.command()
def diff(stream_id: UUID,
         from_: str = typer.Option(..., "--from", help="a version or an ISO 8601 time"),
         to: str = typer.Option(..., "--to", help="a version or an ISO 8601 time"),
         actor: str | None = ACTOR, purpose: str = PURPOSE,
         as_json: bool = typer.Option(False, "--json")) -> None:
    """What changed between two moments, field by field."""
    from services.audit.diff import describe
    from services.audit.queries import AuditQueries
    from services.audit.replay import parse_moment

    before, after = _parsed("--from", parse_moment, from_), _parsed("--to", parse_moment, to)
    who = _actor(actor)
    with _runtime() as runtime:
        result = _guarded(lambda: _shown(runtime, AuditQueries(runtime.app).diff(
            stream_id, who, purpose, before, after), who))
    if as_json:
        out.print_json(result.model_dump_json())
        return
    out.print(f"{result.type} {stream_id}: version {result.from_version} -> "
              f"{result.to_version} ({len(result.events)} events)")
    for change in result.changes:
        out.print(f"  {describe(change)}", markup=False)


@audit.command()
def resources(stream_id: UUID, actor: str | None = ACTOR, purpose: str = PURPOSE,
              as_json: bool = typer.Option(False, "--json")) -> None:
    """The resources a case relied on, and their verification when they were used."""
    from services.audit.queries import AuditQueries

    who = _actor(actor)
    with _runtime() as runtime:
        report = _guarded(lambda: _shown(runtime, AuditQueries(runtime.app).resources(
            stream_id, who, purpose), who))
    if as_json:
        out.print_json(report.model_dump_json())
        return
    table = Table(title=f"Resources relied on by {stream_id}")
    for column in ("event", "used at", "resource", "verification", "usable"):
        table.add_column(column)
    for use in report.uses:
        verdict = "yes" if use.usable else f"no: {use.unusable_reason}"
        table.add_row(f"{use.event_version} {use.event_type}", use.used_at.isoformat(),
                      str(use.resource_id), str(use.verification.get("verification", "")),
                      verdict)
    out.print(table)


def _parsed(option: str, parse: Callable[[str], T], text: str) -> T:
    try:
        return parse(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


# --- verify, export, anchor ------------------------------------------------------------------


@audit.command()
def verify(stream_id: UUID | None = typer.Option(None, "--stream-id"),
           snapshots: bool = typer.Option(False, "--snapshots",
                                          help="also check every snapshot (slower)"),
           as_json: bool = typer.Option(False, "--json", help="the full report as JSON")) -> None:
    """Recompute the hash chain from the stored events; check anchors (and snapshots).
    Exits 1 when anything is broken."""
    from services.audit.verify import verify_store, verify_stream

    with _runtime() as runtime:
        if stream_id is not None:
            report = _guarded(lambda: verify_stream(runtime.app, stream_id))
        else:
            with _progress() as progress:
                task = progress.add_task("verifying the store", total=None)

                def step(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                report = verify_store(runtime.app, snapshots=snapshots, progress=step)
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        _print_verdict(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_verdict(report: VerifyReport) -> None:
    scope = f"stream {report.stream_id}" if report.stream_id else "the store"
    out.print(f"checked {report.events_checked} events in {report.streams_checked} streams, "
              f"{len(report.anchors)} anchors, {report.snapshots_checked} snapshots of {scope}")
    if report.ok:
        out.print("[green]intact[/green]: every event matches its hash chain")
        return
    first = report.first_break
    if first is not None:
        out.print(f"[red]BROKEN[/red] first at stream {first.stream_id} version "
                  f"{first.version} position {first.position} ({first.kind}): expected "
                  f"{first.expected}, found {first.found}")
    for anchor in (a for a in report.anchors if not a.ok):
        out.print(f"[red]anchor[/red] {anchor.from_position}..{anchor.to_position}: recorded "
                  f"{anchor.recorded}, recomputed {anchor.recomputed}")
    for mismatch in report.snapshot_mismatches:
        out.print(f"[red]snapshot[/red] {mismatch.stream_id} v{mismatch.version}: "
                  f"{mismatch.detail}")


@audit.command()
def export(stream_id: UUID,
           fmt: str = typer.Option("json", "--format", help="json, csv or html"),
           output: Path | None = typer.Option(None, "--output", "-o",
                                              help="file to write (default: standard output)"),
           actor: str | None = ACTOR, purpose: str = PURPOSE) -> None:
    """A case's history as JSON, CSV or a printable HTML report."""
    from services.audit.queries import AuditQueries

    if fmt not in ("json", "csv", "html"):
        raise typer.BadParameter("json, csv or html", param_hint="--format")
    who = _actor(actor)
    with _runtime() as runtime, _progress() as progress:
        task = progress.add_task("replaying", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        document = _guarded(lambda: _shown(runtime, AuditQueries(runtime.app).export(
            stream_id, who, purpose, fmt, progress=step), who))  # type: ignore[arg-type]
    if output is None:
        sys.stdout.buffer.write(document)
    else:
        output.write_bytes(document)
        err.print(f"wrote {len(document)} bytes to {output}")


@audit.command()
def anchor(to_position: int | None = typer.Option(None, min=1,
                                                  help="last position (default: newest)"),
           max_span: int = typer.Option(50_000, min=1, help="positions per anchor"),
           actor: str | None = ACTOR) -> None:
    """Record SHA-256 anchors over the chain hashes stored since the last anchor; print
    each digest so it can be published outside the store."""
    from domain.access import NothingToAnchor
    from services.audit.access_commands import AnchorChain
    from services.audit.store import StoreReader

    who = _actor(actor)
    with _runtime() as runtime, _progress() as progress:
        target = to_position or StoreReader(runtime.app).max_position()
        task = progress.add_task("anchoring", total=target)
        while True:
            body = AnchorChain(command_id=uuid4(), to_position=target, max_span=max_span)
            [outcome] = runtime.writer.execute_now([runtime.submission(
                "audit.anchor", body, _principal(who))])
            if getattr(outcome, "rule", None) == NothingToAnchor.__name__:
                err.print("nothing new to anchor")
                break
            if outcome.status != "accepted":
                err.print(f"[red]{outcome.rule}[/red]: {outcome.detail}")
                raise typer.Exit(2)
            anchored = runtime.app.readers.get(outcome.stream_id)
            out.print(f"anchored up to position {anchored.anchored_to}: "
                      f"{anchored.last_digest} ({_iso(anchored.last_anchored_at)})")
            progress.update(task, completed=anchored.anchored_to)
            if anchored.anchored_to >= target:
                break


def _principal(actor: str) -> Any:
    from services.auth import CallerRole, Principal

    return Principal(actor=actor, roles=frozenset({CallerRole.AUDITOR}))


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at else ""
