#!/usr/bin/env bash
# Sets up everything the service and its tests need on a bare Debian machine, idempotently:
# Debian packages (CJK fonts, poppler, NSS tools) and a virtualenv at .venv with the project installed.
# Usage: scripts/setup.sh [--test]   (--test also installs the test dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(fonts-wqy-microhei fonts-hanazono poppler-utils libnss3-tools)
# the tests also drive a real browser (Debian's Chromium, through Playwright; no browser download)
[ "${1:-}" = "--test" ] && DEBS+=(chromium)
# ... and SoftHSM2, the PKCS#11 token the HSM key provider is tested against
[ "${1:-}" = "--test" ] && DEBS+=(softhsm2)
# ... and Node.js, whose npm fetches axe-core (the accessibility checker the browser tests inject)
[ "${1:-}" = "--test" ] && ! command -v npm >/dev/null && DEBS+=(nodejs npm)
missing=()
for p in "${DEBS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
# another apt (unattended upgrades, a second terminal) may hold its locks: wait for it, saying so
apt_wait() {
  local tries=0
  until "$@"; do
    tries=$((tries + 1))
    if [ $tries -ge 60 ]; then echo "apt is still busy after 10 minutes; giving up: $*" >&2; return 1; fi
    [ $tries -eq 1 ] && echo "another package manager holds apt's lock; waiting for it (up to 10 minutes)..." >&2
    sleep "${APT_WAIT_SECONDS:-10}"
  done
}
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  apt_wait $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  apt_wait $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras=""; [ "${1:-}" = "--test" ] && extras="[test]"
stamp=".venv/.installed$extras-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  deps=$("$PY" -c 'import tomllib,re,sys; p=tomllib.load(open("pyproject.toml","rb"))["project"]; d=p["dependencies"]
d+=p["optional-dependencies"]["test"] if sys.argv[1] else []; print(", ".join(re.split("[<>=\\[ ]", x)[0] for x in d))' "$extras")
  echo "installing the project into .venv${extras:+ with test dependencies} (about a minute on a new machine): $deps"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".$extras"
  echo "installed into .venv"
  touch "$stamp"
fi

# axe-core from the npm registry, for the browser tests (injected into each page they check)
if [ "${1:-}" = "--test" ] && [ ! -f .venv/npm/node_modules/axe-core/axe.min.js ]; then
  echo "installing axe-core (npm) into .venv/npm"
  npm install --prefix .venv/npm --no-audit --no-fund --silent axe-core@4 >/dev/null
fi
