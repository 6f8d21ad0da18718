"""Report commands (library: report): `summary` gathers a run's figures of merit into Markdown
and JSON; `compare` makes one table and one figure for the runs of a sweep."""

from __future__ import annotations

import json


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep:
            raise SystemExit(
                f"direction-tagger summary: error: --{what} expects NAME=PATH, got '{value}'"
            )
        pairs[name] = path
    return pairs


def register(subparsers) -> None:
    register_compare(subparsers)
    p = subparsers.add_parser(
        "summary",
        help="summarise a run (Markdown + JSON)",
        description="Collects training, evaluation and movie QC results.",
    )
    p.add_argument("--run", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--train-log", required=True)
    p.add_argument("--split", help="split JSON, whose rule the summary states")
    p.add_argument("--metrics", nargs="*", default=[], help="NAME=metrics.json ...")
    p.add_argument("--movie-qc", nargs="*", default=[], help="NAME=qc.json ...")
    p.add_argument("--out", required=True, help="Markdown file to write")
    p.add_argument("--json", required=True, help="JSON file to write")
    p.set_defaults(func=run_summary)


def run_summary(args) -> int:
    from ..report.summary import write_summary
    from ..train.model_file import load_model

    _, meta = load_model(args.model)
    text = write_summary(
        args.out,
        args.json,
        run=args.run,
        model_meta=meta,
        train_log=args.train_log,
        metrics=_pairs(args.metrics, "metrics"),
        movies=_pairs(args.movie_qc, "movie-qc"),
        split=args.split,
    )
    print(text)
    return 0


def register_compare(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare the runs of a sweep",
        description="Per-run accuracy table, mean ± sd over runs that "
        "differ only in their seed, and a figure.",
    )
    p.add_argument("--summaries", nargs="+", required=True, help="RUN=summary.json ...")
    p.add_argument("--overrides", default="{}", help="JSON: run -> its config overrides")
    p.add_argument("--evalset", required=True, help="which evaluation set to compare on")
    p.add_argument("--runs-csv", required=True)
    p.add_argument("--variants-csv", required=True)
    p.add_argument("--figure", required=True)
    p.set_defaults(func=run_compare)


def run_compare(args) -> int:
    from ..report.compare import write_comparison

    runs, variants = write_comparison(
        _pairs(args.summaries, "summaries"),
        json.loads(args.overrides),
        args.evalset,
        args.runs_csv,
        args.variants_csv,
        args.figure,
    )
    print(variants.to_string(index=False))
    return 0
