"""`summary`: gather a run's figures of merit into Markdown and JSON."""

from __future__ import annotations


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep:
            raise SystemExit(f"direction-tagger summary: error: --{what} expects NAME=PATH, got '{value}'")
        pairs[name] = path
    return pairs


def register(subparsers) -> None:
    p = subparsers.add_parser("summary", help="summarise a run (Markdown + JSON)",
                              description="Collects training, evaluation and movie QC results.")
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
    from ..summary import write_summary
    from ..train import load_model

    _, meta = load_model(args.model)
    text = write_summary(args.out, args.json, run=args.run, model_meta=meta,
                         train_log=args.train_log, metrics=_pairs(args.metrics, "metrics"),
                         movies=_pairs(args.movie_qc, "movie-qc"), split=args.split)
    print(text)
    return 0
