"""The background process of `corridor serve --workers N`: it follows the event store and
keeps the read models current (projections, woken by the store's NOTIFY), and runs the
policies (recall flags, releases, retractions, verification expiry), whose follow-ups go to
the writer process over its socket.

Why apart from the writer: in the writer's interpreter both competed with command execution
for the GIL (measured at 32 clients: 1,146 commands/s with projections there, 1,336/s
without; 1,317/s with reactions there, 1,439/s without). Why together: neither needs a core
of its own (0.1 and 0.02 of one at 1,400 commands/s), and one interpreter fewer is about
70 MB of memory less.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from services.settings import Settings


async def run(settings: Settings, socket_path: str | None, *, project: bool) -> None:
    """Project and/or react until SIGTERM or SIGINT."""
    from projections.cli import follow_store
    from services.application import CorridorApplication
    from services.ipc import RemoteFollowUps
    from services.reactions import Reactions
    from services.secrets import master_key, retired_master_keys

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = reactions = None
    if socket_path is not None:
        app = CorridorApplication(settings, master_key(settings), retired_master_keys(settings))
        reactions = Reactions(app, RemoteFollowUps(socket_path),
                              tick_seconds=settings.expiry_tick_seconds)
        reactions.start()  # its own threads: it polls the store and blocks on the writer
    try:
        if project:
            await follow_store(settings, stop)
        else:
            await stop.wait()
    finally:
        if reactions is not None:
            await asyncio.to_thread(reactions.stop)
        if app is not None:
            app.close()


def background_main(socket_path: str | None, *, project: bool) -> None:
    """Project (`project`) and/or react, sending follow-ups to the writer on `socket_path`."""
    import uvloop

    uvloop.run(run(Settings(), socket_path, project=project))


def main() -> None:
    """`python -m services.background_process [--react SOCKET] [--project]`: a background
    process started by hand."""
    from services.logs import configure

    parser = argparse.ArgumentParser(prog="python -m services.background_process")
    parser.add_argument("--react", metavar="SOCKET", help="run the policies; send their "
                        "follow-ups to the writer process listening on SOCKET")
    parser.add_argument("--project", action="store_true",
                        help="keep the read models current from the event store")
    args = parser.parse_args()
    if not args.react and not args.project:
        parser.error("nothing to do: give --react SOCKET and/or --project")
    configure(json=Settings().log_json)
    background_main(args.react, project=args.project)


if __name__ == "__main__":
    main()
