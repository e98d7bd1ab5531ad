# shellcheck shell=bash
# Sourced by deploy/test.sh and deploy/run.sh (from the repo root): makes sure .venv exists and
# has the project installed with the pinned versions from constraints.txt.
#
# The install is re-run only when pyproject.toml or constraints.txt changed since the last
# successful install (a hash of both is kept in .venv/.corridor-install-stamp), so repeated runs
# are fast and a dependency added by someone else still gets installed.

ensure_venv() {
    local python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "ERROR: $python not found; install Python 3.11+ first" >&2
        return 1
    fi
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
        echo "==> creating .venv with $("$python" --version 2>&1) ($(command -v "$python"))"
        rm -rf .venv
        if ! "$python" -m venv .venv; then
            # Debian's system python needs the python3-venv package for ensurepip.
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
                echo "==> python3 -m venv failed; installing python3-venv"
                rm -rf .venv
                DEBIAN_FRONTEND=noninteractive apt-get update -q &&
                    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv &&
                    "$python" -m venv .venv || return 1
            else
                echo "ERROR: '$python -m venv .venv' failed (Debian: apt-get install python3-venv)" >&2
                return 1
            fi
        fi
    fi
    local stamp
    stamp="$(cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -d' ' -f1)"
    if [ "$(cat .venv/.corridor-install-stamp 2>/dev/null)" != "$stamp" ]; then
        echo "==> installing corridor and its dev dependencies into .venv (pinned by constraints.txt)"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check \
            -c constraints.txt -e '.[dev]' || return 1
        echo "$stamp" >.venv/.corridor-install-stamp
    fi
}
