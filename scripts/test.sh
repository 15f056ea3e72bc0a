#!/usr/bin/env bash
# One command: set up (Debian packages, .venv with test dependencies) and run every gate and test:
# ruff, mypy --strict (signing and the domain), pytest (unit, integration on SQLite and PostgreSQL,
# end-to-end against a real server with poppler, pyHanko, zxing-cpp and joserfc).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/mypy
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; exit 1; fi
exit $rc
