#!/usr/bin/env bash
# The bench's own tools, installed where missing (bench.run calls this when one is absent):
#   wrk     - the compiled HTTP load generator for throughput (Debian's package)
#   py-spy  - the sampling profiler behind the CPU budget table (the `bench` extra)
#   perf    - the split of the server's CPU by binary (Debian's linux-perf; optional: the
#             ingest section says so when it is missing or the kernel refuses it)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3)}"
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y wrk || { $SUDO apt-get update && $SUDO apt-get install -y wrk; }
fi
if ! command -v perf >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y linux-perf || echo "linux-perf not installed: no perf split" >&2
fi
if ! "$PYTHON" -c 'import shutil, sys, pathlib; sys.exit(0 if (pathlib.Path(sys.executable).with_name("py-spy").exists() or shutil.which("py-spy")) else 1)'; then
  "$PYTHON" -m pip install -q -e '.[bench]'
fi
wrk --version | head -1
