#!/usr/bin/env bash
# Set up (a local .venv) and run the whole test suite: lint, types, tests.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
bash scripts/install-tools.sh
.venv/bin/ruff check .
.venv/bin/mypy .
.venv/bin/lint-imports
.venv/bin/pytest -q -p no:cacheprovider "$@"
