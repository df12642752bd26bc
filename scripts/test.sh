#!/usr/bin/env bash
# Install Kizuki with its test extras into ./.venv and run every check CI runs:
# lint, the test suite (real Sudachi, embeddings, faiss, HTTP, a headless browser and a
# PostgreSQL server), the analyst notebook, and the quick benchmark (numbers printed,
# never asserted).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[test]"

apt_install() {
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

# Browser tests drive Debian's chromium (Playwright never downloads a browser here).
if ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium
fi
# Store and replica tests run a throw-away PostgreSQL cluster (tests/pg_cluster.py) with
# Debian's server binaries.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    apt_install postgresql
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
ruff check .
# Two processes (at most four on a bigger machine), one test file each at a time: most tests
# wait on a server or a CLI subprocess, so one process leaves a core idle.
python -m pytest -q -n auto --maxprocesses 4 --dist loadfile
