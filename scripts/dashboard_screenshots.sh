#!/usr/bin/env bash
# Regenerate docs/dashboard/*.png, the screenshots in docs/dashboard.md, from the
# dashboard's browser tests (real headless Chromium against a real `leadledger serve`):
# the tests take them when $LEADLEDGER_SCREENSHOTS names a directory.
# Usage: bash scripts/dashboard_screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=docs/dashboard
rm -rf "$target"
mkdir -p "$target"
LEADLEDGER_SCREENSHOTS="$target" .venv/bin/pytest -q -p no:cacheprovider \
  tests/e2e/test_dashboard.py tests/e2e/test_dashboard_live.py
ls "$target"
