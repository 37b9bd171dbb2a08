#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium for end-to-end tests (Playwright's
# own browser download does not work here), CJK fonts so screenshots show Chinese, and
# PostgreSQL with PostGIS (the store tests start a throwaway server, tests/pg_server.py),
# and nginx (tests/e2e/test_proxy.py runs the README's reverse-proxy block in front of two
# dashboards; nginx-light is Debian's build with the modules that block uses).
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "noto.*cjk" || need+=(fonts-noto-cjk)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
installed postgresql || need+=(postgresql)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
# PostGIS for the server's major version (postgresql-15-postgis-3 on Debian 12).
pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [ -z "$pg_major" ]; then
  pg_major=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9]\+\)$/\1/p' | head -1)
fi
installed "postgresql-${pg_major:-15}-postgis-3" || need+=("postgresql-${pg_major:-15}-postgis-3")
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: need root to install ${need[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${need[*]} (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" fontconfig >/dev/null
