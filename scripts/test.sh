#!/usr/bin/env bash
# Set up .venv (if needed) and run the whole test suite, end-to-end workflow runs included.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"` for the fast tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Two pytest-xdist workers: the tests run torch on one thread (tests/conftest.py), so one
# process leaves the second core idle. Files are handed out in collection order (slow ones
# first, see tests/conftest.py). TEST_WORKERS=0 runs them in this process.
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --no-loadscope-reorder "$@"
