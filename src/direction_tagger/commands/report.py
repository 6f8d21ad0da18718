"""Report commands (library: report): `summary` gathers a run's figures of merit into Markdown
and JSON; `compare` makes one table and one figure for the runs of a sweep."""

from __future__ import annotations

from .arguments import json_object, name_path


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
    p.add_argument("--metrics", nargs="*", type=name_path, default=[], help="NAME=metrics.json ...")
    p.add_argument("--movie-qc", nargs="*", type=name_path, default=[], help="NAME=qc.json ...")
    p.add_argument(
        "--before",
        help="the summary JSON of the run this one was refined from: before / after tables",
    )
    p.add_argument("--out", required=True, help="Markdown file to write")
    p.add_argument("--json", required=True, help="JSON file to write")
    p.set_defaults(func=run_summary, writes=("out", "json"))


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
        metrics=dict(args.metrics),
        movies=dict(args.movie_qc),
        split=args.split,
        before=args.before,
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
    p.add_argument(
        "--summaries", nargs="+", type=name_path, required=True, help="RUN=summary.json ..."
    )
    p.add_argument(
        "--overrides", type=json_object, default={}, help="JSON: run -> its config overrides"
    )
    p.add_argument("--evalset", required=True, help="which evaluation set to compare on")
    p.add_argument("--runs-csv", required=True)
    p.add_argument("--variants-csv", required=True)
    p.add_argument("--figure", required=True)
    p.set_defaults(func=run_compare, writes=("runs_csv", "variants_csv", "figure"))


def run_compare(args) -> int:
    from ..report.compare import write_comparison

    runs, variants = write_comparison(
        dict(args.summaries),
        args.overrides,
        args.evalset,
        args.runs_csv,
        args.variants_csv,
        args.figure,
    )
    print(variants.to_string(index=False))
    return 0
