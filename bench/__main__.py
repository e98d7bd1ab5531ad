"""`python -m bench` runs `corridor bench` without the rest of the CLI."""

from __future__ import annotations

import typer

from bench.cli import register

app = typer.Typer(add_completion=False)
register(app)

if __name__ == "__main__":
    app()
