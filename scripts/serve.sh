#!/usr/bin/env bash
# One command: set up, create dev keys, load the demo workload, and serve on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ELICENSE_ENV=${ELICENSE_ENV:-development}
.venv/bin/elicense keys init
.venv/bin/elicense demo
if [ ! -f var/demo-client.json ]; then
  .venv/bin/elicense clients create --name demo --scopes "registrations:write licenses:read verify audit holders:invite" --json \
    > var/demo-client.json
fi
echo "an API client for trying things out is in var/demo-client.json (see the README's tour)"
# holders to try: invitations for three demo companies' legal representatives (passkeys need a host
# name, so their links are on localhost rather than 127.0.0.1)
ELICENSE_PUBLIC_BASE_URL=${ELICENSE_PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-8000}} .venv/bin/elicense holders demo
# the window's console: a demo supervisor of 湘西州 (433100); staff links are single-use, so a new one each run
echo "the window's console (/console/): enrol the demo supervisor with a passkey, then sign in at /console/sign-in:"
ELICENSE_PUBLIC_BASE_URL=${ELICENSE_PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-8000}} .venv/bin/elicense staff invite \
  --name "演示主任" --role supervisor --division 433100
echo "more staff: .venv/bin/elicense staff invite --name NAME --role clerk|supervisor|auditor --division 433101"
exec .venv/bin/elicense serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
