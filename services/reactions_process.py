"""The reactions process of `corridor serve --workers N`: the policies (recall flags,
releases, retractions, verification expiry) follow the store here and send their follow-ups
to the writer process. In the writer's interpreter they competed with command execution for
the GIL (measured at 32 clients: 1,317 commands/s with them there, 1,439/s without)."""

from __future__ import annotations

import signal
import sys
import threading

from services.settings import Settings


def main() -> None:
    """`python -m services.reactions_process SOCKET` (started by `corridor serve --workers`)."""
    from services.application import CorridorApplication
    from services.ipc import RemoteFollowUps
    from services.logs import configure
    from services.reactions import Reactions
    from services.secrets import master_key, retired_master_keys

    settings = Settings()
    configure(json=settings.log_json)
    app = CorridorApplication(settings, master_key(settings), retired_master_keys(settings))
    reactions = Reactions(app, RemoteFollowUps(sys.argv[1]),
                          tick_seconds=settings.expiry_tick_seconds)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    reactions.start()
    try:
        stop.wait()
    finally:
        reactions.stop()
        app.close()


if __name__ == "__main__":
    main()
