"""`compare`: one table and one figure for the runs of a sweep."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help="compare the runs of a sweep",
                              description="Per-run accuracy table, mean ± sd over runs that "
                              "differ only in their seed, and a figure.")
    p.add_argument("--summaries", nargs="+", required=True, help="RUN=summary.json ...")
    p.add_argument("--overrides", default="{}", help="JSON: run -> its config overrides")
    p.add_argument("--evalset", required=True, help="which evaluation set to compare on")
    p.add_argument("--runs-csv", required=True)
    p.add_argument("--variants-csv", required=True)
    p.add_argument("--figure", required=True)
    p.set_defaults(func=run_compare)


def run_compare(args) -> int:
    from ..compare import write_comparison
    from .summary import _pairs

    runs, variants = write_comparison(_pairs(args.summaries, "summaries"),
                                      json.loads(args.overrides), args.evalset, args.runs_csv,
                                      args.variants_csv, args.figure)
    print(variants.to_string(index=False))
    return 0
