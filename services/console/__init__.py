"""The coordinator console: static files (ES modules, no build step) that the API serves under
/console. It holds no rules of its own; every page is a client of the HTTP API."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"
"""index.html, the modules, the stylesheet and the vendored library (vendor/)."""
