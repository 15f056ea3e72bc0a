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
missing=()
for p in "${DEBS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras=""; [ "${1:-}" = "--test" ] && extras="[test]"
stamp=".venv/.installed$extras-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing the project into .venv${extras:+ with test dependencies}"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".$extras"
  touch "$stamp"
fi
