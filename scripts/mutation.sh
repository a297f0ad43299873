#!/usr/bin/env bash
# Mutation testing of the critical modules (scripts/mutation.toml); see docs/testing.md.
# Usage: scripts/mutation.sh [MODULE ...] | --report
set -euo pipefail
cd "$(dirname "$0")/.."
# Niced: a run takes minutes and should not starve whatever else the machine is doing.
exec nice -n 19 .venv/bin/python scripts/mutation.py "$@"
