#!/usr/bin/env bash
# One command: set up, create dev keys, load the demo workload, and serve on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ELICENSE_ENV=${ELICENSE_ENV:-development}
.venv/bin/elicense keys init
.venv/bin/elicense demo
if [ ! -f var/demo-client.json ]; then
  .venv/bin/elicense clients create --name demo --scopes "registrations:write licenses:read verify audit" --json \
    > var/demo-client.json
fi
echo "an API client for trying things out is in var/demo-client.json (see the README's tour)"
exec .venv/bin/elicense serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
