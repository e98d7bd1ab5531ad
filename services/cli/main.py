"""The `corridor` command line (Typer)."""

from __future__ import annotations

import os
from uuid import UUID

import typer

from services.settings import Settings

app = typer.Typer(help="corridor: coordination backend for volunteer evacuation networks",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)


@app.command()
def serve(host: str | None = None, port: int | None = None,
          workers: int | None = typer.Option(
              None, min=1, max=64, help="HTTP worker processes (default CORRIDOR_WORKERS, 1); "
              "above 1 implies --writer-process"),
          writer_process: bool | None = typer.Option(
              None, "--writer-process/--one-process", help="execute commands in a writer "
              "process of their own, beside the HTTP worker(s), with projections and "
              "policies in the supervising process, so the API uses more than one core "
              "(default CORRIDOR_WRITER_PROCESS; unset: a writer process on a machine of "
              "two cores or more, else one process does everything)"),
          ) -> None:
    """Serve the HTTP API (embedded SQLite default unless CORRIDOR_STORE=postgres)."""
    from services.logs import configure

    # serve tunes the collector unless CORRIDOR_TUNE_GC says otherwise
    os.environ.setdefault("CORRIDOR_TUNE_GC", "true")
    settings = Settings()
    configure(json=settings.log_json)
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.workers
    split = splits(settings, writer_process, workers)
    if split:  # the processes it starts read their settings from the environment
        os.environ["CORRIDOR_WRITER_PROCESS"] = "true"
        settings = settings.model_copy(update={"writer_process": True})
    _refuse_an_unknown_schema(settings)
    typer.echo(f"corridor: store={settings.store} "
               f"({settings.sqlite_path if settings.store == 'sqlite' else 'postgres'})"
               + (f", {workers} HTTP worker{'s' if workers > 1 else ''} and one writer "
                  "process; projections and policies in this process" if split
                  else ", one process"))
    typer.echo(f"corridor: API docs at http://{host}:{port}/docs "
               f"(OpenAPI at http://{host}:{port}/openapi.json)")
    typer.echo("corridor: get an admin token with `corridor token --actor admin --role admin`")
    if not split:
        import uvicorn

        from services.api.app import create_app
        from services.api.framing import ProblemHttpToolsProtocol

        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                    access_log=False, http=ProblemHttpToolsProtocol)
        return
    from services.runtime.writer_process import serve_with_writer_process

    serve_with_writer_process(settings, host, port, workers)


def splits(settings: Settings, flag: bool | None, workers: int) -> bool:
    """Whether `corridor serve` runs a writer process beside its HTTP worker(s): as asked,
    else on a machine of two cores or more (one process holds one core: Python's lock)."""
    if workers > 1:
        return True
    if flag is not None:
        return flag
    if settings.writer_process is not None:
        return settings.writer_process
    return (os.cpu_count() or 1) >= 2


@app.command()
def token(actor: str | None = typer.Option(None, help="actor id recorded on events (a "
                                                      "volunteer's UUID, or a service name)"),
          role: list[str] = typer.Option([], help="role(s): intake, volunteer, supervisor, "
                                                  "fact_checker, psychologist, auditor, admin"),
          partner: UUID | None = typer.Option(None, help="instead of --actor and --role: a "
                                              "token for this partner organisation's service "
                                              "(reads and answers its own referrals only)"),
          hours: float | None = typer.Option(None, help="validity; default "
                                             "CORRIDOR_TOKEN_TTL_HOURS"),
          link: bool = typer.Option(False, help="print a one-time console sign-in link "
                                                "instead (ten minutes, one use)"),
          base_url: str = typer.Option("http://127.0.0.1:8000", help="where the console "
                                       "is served (with --link)")) -> None:
    """Print a signed access token, or a one-time sign-in link for the console."""
    from datetime import timedelta

    from services.auth import CallerRole, TokenIssuer
    from services.storage.secrets import auth_secret

    if (partner is None) == (actor is None and not role):
        raise typer.BadParameter("give --actor and --role, or --partner alone")
    try:
        roles = [CallerRole(r) for r in role]
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if partner is None and (actor is None or not roles):
        raise typer.BadParameter("a token needs --actor and at least one --role")
    settings = Settings()
    issuer = TokenIssuer(auth_secret(settings), issuer=settings.token_issuer,
                         audience=settings.token_audience)
    try:
        if link:  # the code rides in the fragment: browsers never send it to a server
            code = issuer.issue_sign_in(actor or "", roles)
            typer.echo(f"{base_url.rstrip('/')}/console/#sign-in={code}")
        else:
            typer.echo(issuer.issue(actor or "", roles, partner_id=partner,
                                    ttl=timedelta(hours=hours or settings.token_ttl_hours)))
    except ValueError as error:
        raise typer.BadParameter(f"--actor: {error}") from None


@app.command("settings")
def show_settings() -> None:
    """Print every CORRIDOR_* setting with its default and meaning (Markdown)."""
    from services.settings import settings_table

    typer.echo(settings_table(), nl=False)


@app.command()
def keygen() -> None:
    """Print a new random master key (for CORRIDOR_MASTER_KEY)."""
    from services.storage.sealing import new_master_key

    typer.echo(new_master_key())


@app.command("rotate-master-key")
def rotate_master_key(new_key: str = typer.Option(..., help="from `corridor keygen`"),
                      ) -> None:
    """Re-wrap every per-person data key under a new master key (events are untouched).

    Afterwards set CORRIDOR_MASTER_KEY to the new key, CORRIDOR_MASTER_KEY_VERSION to the
    printed version, and keep the old key as CORRIDOR_PREVIOUS_MASTER_KEY until every process
    runs with the new one. Safe to re-run if interrupted.
    """
    from services.bootstrap import application
    from services.storage.sealing import decode_master_key

    settings = Settings()
    corridor = application(settings)
    version = settings.master_key_version + 1
    count = corridor.keys.rotate(decode_master_key(new_key), version)
    corridor.close()
    typer.echo(f"re-wrapped {count} data keys; now set CORRIDOR_MASTER_KEY_VERSION={version}")


PLUGINS = {"services.cli.kafka": ("relay", "command-consumer", "kafka"),
           "services.cli.audit": ("audit",), "bench.cli": ("bench",),
           "services.cli.projections": ("rebuild", "project"),
           "services.cli.simulate": ("simulate",)}
"""Modules that add their own commands with a `register(app)` function, and the commands
each adds. Only the module a command needs is imported: `corridor serve --writer-process`
imports only what its forked children run (services.runtime.writer_process.PRELOAD), not the audit,
Kafka and bench commands (much more imported code, copied into every child)."""
CORE = {"serve", "token", "keygen", "rotate-master-key"}


def _load_plugins(argv: list[str]) -> None:
    import importlib

    command = next((a for a in argv[1:] if not a.startswith("-")), None)
    if command in CORE:
        return
    wanted = [m for m, names in PLUGINS.items() if command in names] or list(PLUGINS)
    for name in wanted:  # an unknown command or --help: all of them, to list or refuse
        importlib.import_module(name).register(app)


def _refuse_an_unknown_schema(settings: Settings) -> None:
    """Open the store once before serving: it migrates, or a store a newer corridor migrated
    is refused here with one line and exit code 2, before any process is forked or any
    request answered (the store is closed again: children open their own connections)."""
    from projections.migrations import SchemaVersionError
    from services.bootstrap import application

    try:
        application(settings).close()
    except SchemaVersionError as refused:
        typer.echo(f"corridor: {refused}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    import sys

    _load_plugins(sys.argv)
    app()


if __name__ == "__main__":
    main()
