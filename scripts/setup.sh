#!/usr/bin/env bash
# Create .venv and install direction-tagger with its test tools. Safe to re-run.
# TORCH_SPEC picks the PyTorch build: the default pins the CPU-friendly release CI uses;
# on a GPU machine e.g. TORCH_SPEC="torch>=2.3" with pip's CUDA index (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    .venv/bin/python -m pip install -q "$TORCH_SPEC"
fi
.venv/bin/python -m pip install -q -e ".[dev]"
# The labelling page's tests drive real browsers: Debian's chromium with its driver, and
# firefox-esr. Installed only where missing and only as root with apt (CI, containers);
# elsewhere say how.
if ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null \
    && command -v firefox-esr >/dev/null; }; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            chromium chromium-driver firefox-esr >/dev/null) \
            || echo "could not install the browsers (apt-get)"
    else
        echo "note: the labelling page's browser tests need chromium, chromedriver and" \
            "firefox-esr (sudo apt-get install chromium chromium-driver firefox-esr);" \
            "they are skipped without them"
    fi
fi
echo "direction-tagger installed in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
