#!/usr/bin/env bash
# The single test command (README and CI call it):  bash deploy/test.sh [pytest args...]
#
#   1. creates .venv if missing and installs the project with constraints.txt
#   2. ruff check, mypy, then the import contracts (fail fast: no servers are started when
#      these fail)
#   3. starts a throwaway PostgreSQL cluster and a single-node Kafka broker on 127.0.0.1
#      (or uses CORRIDOR_TEST_PG_DSN / CORRIDOR_TEST_KAFKA_BOOTSTRAP if they are set and answer),
#      runs pytest with those exported, and stops both servers again whatever happens.
#
# Exits with pytest's status (or the first failing step's).  Service management lives in
# deploy/services.py (stdlib only); see deploy/README.md.
set -Eeuo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
[ -t 0 ] || exec </dev/null   # CI: no stdin; never let anything wait on it

PYTHON="${PYTHON:-python3}"
STATE_DIR="$(mktemp -d "${TMPDIR:-/tmp}/corridor-test.XXXXXX")"

# shellcheck disable=SC2317  # invoked from the traps below
cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    # `services.py run` stops the servers itself; this is the safety net in case it was killed
    # (it stops only what services.json in STATE_DIR records, by pid; a no-op otherwise).
    if [ -f "$STATE_DIR/services.json" ]; then
        "$PYTHON" deploy/services.py stop --state-dir "$STATE_DIR" || status=$((status ? status : 1))
    fi
    rm -rf "$STATE_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

step() { printf '\n==> %s\n' "$*"; }

# shellcheck source=deploy/venv.sh
source deploy/venv.sh
ensure_venv

# The console's browser tests (tests/browser) drive Debian's Chromium through Playwright for
# Python; Playwright's own browser download is not used (`playwright install` is never run).
CHROMIUM="${CORRIDOR_TEST_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        step "installing Debian's chromium (for the console's browser tests)"
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
    else
        echo "ERROR: $CHROMIUM is missing: apt-get install chromium (the browser tests need it)" >&2
        exit 1
    fi
fi

step "ruff check domain projections services bench tests"
.venv/bin/ruff check domain projections services bench tests

step "mypy domain projections services bench"
.venv/bin/mypy domain projections services bench

step "lint-imports (the layers: bench -> services -> projections -> domain)"
.venv/bin/lint-imports

step "starting PostgreSQL and Kafka, then: pytest $*"
set +e
"$PYTHON" deploy/services.py run --state-dir "$STATE_DIR" -- .venv/bin/python -m pytest "$@"
status=$?
set -e
exit "$status"
