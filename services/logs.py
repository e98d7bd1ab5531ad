"""Structured logs (structlog) routed through the standard library, never with payloads:
logs carry ids, types and counts, so no personal data reaches them."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(json: bool = False, level: int = logging.INFO) -> None:
    # Plain tracebacks: structlog's default, rich's with every frame's local variables, can
    # take seconds per logged error on busy cores (on the event loop: while the database is
    # down each failed reconnect holds every request that long), and locals can hold the
    # payloads and personal data these logs must never carry.
    console = structlog.dev.ConsoleRenderer(colors=False,
                                            exception_formatter=structlog.dev.plain_traceback)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else console
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        processor=renderer,
        foreign_pre_chain=[structlog.processors.add_log_level,
                           structlog.processors.TimeStamper(fmt="iso")],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso"),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
    )
