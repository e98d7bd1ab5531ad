"""One HTTP worker of `corridor serve --writer-process [--workers N]`: uvicorn on its own
SO_REUSEPORT socket.

Why not uvicorn's own `--workers`: its processes share one listening socket, and whichever
is awake first accepts a burst of new connections, so under load all of them often land on
one of two workers, which then does all the work while the other idles. With one socket per
worker in a SO_REUSEPORT group, the kernel spreads connections evenly.
The socket is bound here but listened on only when uvicorn has started the application, so
no connection waits on a worker that is still starting.
"""

from __future__ import annotations

import socket

import uvicorn

from services.api.framing import ProblemHttpToolsProtocol


def reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve(host: str, port: int) -> None:
    """Serve the API on `host`:`port` (an HTTP worker of `corridor serve --writer-process`)."""
    sock = reuse_port_socket(host, port)
    config = uvicorn.Config("services.api.app:create_app", factory=True, log_level="warning",
                            access_log=False, loop="uvloop", http=ProblemHttpToolsProtocol)
    uvicorn.Server(config).run(sockets=[sock])
