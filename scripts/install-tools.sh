#!/usr/bin/env bash
# The programs some tests run besides Python: curl and openssl (the quick start's shell
# blocks, tests/e2e/test_docs_quickstart.py), the PostgreSQL client tools (createdb,
# pg_dump, pg_restore: `leadledger backup`/`restore` on PostgreSQL) and nginx and caddy
# (docs/deploy.md's proxy configurations, tests/e2e/test_deploy_proxy.py) and
# systemd-analyze (its units, tests/e2e/test_deploy_units.py) and chromium (the dashboard's
# Playwright tests, tests/e2e/test_dashboard.py, drive /usr/bin/chromium) and wrk (the
# ingest bench's load generator, tests/integration/test_wrk_load.py). Installs the
# Debian packages of those missing (as root, or through sudo), without starting their
# services; does nothing when all are there.
set -euo pipefail
missing=()
for tool in curl openssl nginx caddy wrk; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ -x /usr/bin/chromium ] || missing+=(chromium)
for tool in createdb pg_dump pg_restore; do
  command -v "$tool" >/dev/null || { missing+=(postgresql-client); break; }
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]}" >&2
# nginx and caddy would start listening on port 80 once installed: forbid service starts
# for the install (the usual policy-rc.d convention), unless a policy exists already.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
