#!/usr/bin/env bash
# Set up .venv (if needed) and run the synthetic demo: synthesize rats, train, evaluate,
# tag a movie. Outputs land in results/demo/ (see README). Extra arguments go to snakemake.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
start=$(date +%s)
if [[ " $* " == *" --report "* ]]; then
  # snakemake --report only gathers: make (or bring up to date) what it shows first
  .venv/bin/snakemake --cores all --configfile config/demo.yaml
fi
.venv/bin/snakemake --cores all --configfile config/demo.yaml "$@"
echo "demo finished in $(( $(date +%s) - start )) s: see results/demo/summary.md and results/demo/movies/demo_walk/tagged.mp4 (one page with everything: bash scripts/demo.sh --report report.html)"
