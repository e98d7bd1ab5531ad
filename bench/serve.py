"""Fallback for `corridor serve` (the same uvicorn call, loop and HTTP parser explicit), used
only while the `corridor` CLI cannot start: `python -m bench.serve --port N`."""

from __future__ import annotations

import argparse

import uvicorn

from services.api.app import create_app
from services.api.framing import ProblemHttpToolsProtocol
from services.logs import configure
from services.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings()
    configure(json=settings.log_json)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, loop="uvloop",
                http=ProblemHttpToolsProtocol, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
