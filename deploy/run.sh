#!/usr/bin/env bash
# Run the corridor HTTP API locally:  bash deploy/run.sh [corridor serve options...]
# Creates .venv and installs the project (pinned by constraints.txt) if needed, then serves on
# the embedded SQLite store at http://127.0.0.1:8000 (the docs URL is printed on start).
set -Eeuo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

# shellcheck source=deploy/venv.sh
source deploy/venv.sh
ensure_venv

exec .venv/bin/corridor serve "$@"
