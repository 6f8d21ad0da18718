#!/usr/bin/env bash
# Set up .venv (if needed) and run the whole test suite, end-to-end workflow runs included.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"` for the fast tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
