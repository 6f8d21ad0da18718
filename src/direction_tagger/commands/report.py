"""Report commands (library: report): `summary` gathers a run's figures of merit into Markdown
and JSON; `compare` makes one table and one figure for the runs of a sweep."""

from __future__ import annotations

from pathlib import Path

from .arguments import json_object, name_path
from .found import in_folder

# What a run folder (results/RUN) holds, as the workflow writes it.
RUN_FILES = {"model": "model.pt", "train_log": "training_log.csv"}
RUN_SPLIT = "split.json"
RUN_METRICS = "eval/*/metrics.json"  # one folder per evaluation set
RUN_MOVIE_QC = "movies/*/qc.json"  # one folder per movie


def register(subparsers) -> None:
    register_compare(subparsers)
    p = subparsers.add_parser(
        "summary",
        help="summarise a run (Markdown + JSON)",
        description="Collects training, evaluation and movie QC results. Given only a run "
        f"folder (--run results/RUN), reads its {', '.join(RUN_FILES.values())}, "
        f"{RUN_SPLIT}, {RUN_METRICS} and {RUN_MOVIE_QC} and writes summary.md and "
        "summary.json in it.",
    )
    p.add_argument("--run", required=True, help="the run's folder (results/RUN) or its name")
    p.add_argument("--model", help="model file (default: RUN/model.pt)")
    p.add_argument("--train-log", help="training log CSV (default: RUN/training_log.csv)")
    p.add_argument(
        "--split", help="split JSON, whose rule the summary states (default: RUN/split.json)"
    )
    p.add_argument(
        "--metrics",
        nargs="*",
        type=name_path,
        help=f"NAME=metrics.json ... (default: RUN/{RUN_METRICS}, NAME the folder)",
    )
    p.add_argument(
        "--movie-qc",
        nargs="*",
        type=name_path,
        help=f"NAME=qc.json ... (default: RUN/{RUN_MOVIE_QC}, NAME the folder)",
    )
    p.add_argument(
        "--before",
        help="the summary JSON of the run this one was refined from: before / after tables",
    )
    p.add_argument("--out", help="Markdown file to write (default: RUN/summary.md)")
    p.add_argument("--json", help="JSON file to write (default: RUN/summary.json)")
    p.set_defaults(
        func=run_summary,
        writes=("out", "json"),
        fill_inputs=_run_folder,
        fill_outputs=_summary_outputs,
    )


def _run_folder(args) -> dict:
    """Without --model, --run is a run folder and every input comes from it: the model and
    training log (needed), the split, evaluations and movie checks (those there are)."""
    if args.model is not None:
        return {}
    if not Path(args.run).is_dir():
        from ..io import DataError

        raise DataError(
            f"{args.run}: no such run folder; give the run's folder (e.g. results/{args.run}) "
            "or --model and --train-log"
        )
    run = Path(args.run)
    paths = in_folder("run", **RUN_FILES)(args)
    if args.split is None and (run / RUN_SPLIT).is_file():
        paths["split"] = run / RUN_SPLIT
    if args.metrics is None:
        paths["metrics"] = [(p.parent.name, str(p)) for p in sorted(run.glob(RUN_METRICS))]
    if args.movie_qc is None:
        paths["movie_qc"] = [(p.parent.name, str(p)) for p in sorted(run.glob(RUN_MOVIE_QC))]
    for name, value in paths.items():
        setattr(args, name, value)
    return paths


def _summary_outputs(args) -> dict:
    """summary.md and summary.json in the run folder (beside it, RUN_summary.*, for a name)."""
    run = Path(args.run)
    if run.is_dir():
        return {"out": run / "summary.md", "json": run / "summary.json"}
    return {"out": Path(f"{run.name}_summary.md"), "json": Path(f"{run.name}_summary.json")}


def run_summary(args) -> int:
    from ..report.summary import write_summary
    from ..train.model_file import load_model

    if args.train_log is None:
        from ..io import DataError

        raise DataError("give --train-log (the training log CSV `train` wrote) with --model")
    _, meta = load_model(args.model)
    run = Path(args.run)
    text = write_summary(
        args.out,
        args.json,
        run=run.absolute().name if run.is_dir() else args.run,
        model_meta=meta,
        train_log=args.train_log,
        metrics=dict(args.metrics or []),
        movies=dict(args.movie_qc or []),
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
        "--summaries",
        nargs="+",
        type=summary_path,
        required=True,
        help="RUN=summary.json, or a run folder's summary.json (RUN: the folder's name) ...",
    )
    p.add_argument(
        "--overrides", type=json_object, default={}, help="JSON: run -> its config overrides"
    )
    p.add_argument(
        "--evalset",
        help="which evaluation set to compare on (default: the first run's first)",
    )
    # several runs, one comparison: written in the current folder, as `refine` writes ./refine
    p.add_argument("--runs-csv", help="per-run table (default: comparison_runs.csv)")
    p.add_argument("--variants-csv", help="per-variant table (default: comparison_variants.csv)")
    p.add_argument("--figure", help="figure PNG (default: comparison.png)")
    p.set_defaults(
        func=run_compare,
        writes=("runs_csv", "variants_csv", "figure"),
        fill_outputs=lambda a: {
            "runs_csv": Path("comparison_runs.csv"),
            "variants_csv": Path("comparison_variants.csv"),
            "figure": Path("comparison.png"),
        },
    )


def summary_path(text: str) -> tuple[str, str]:
    """RUN=PATH, or PATH alone: results/x/summary.json is run x (a file named otherwise: its
    stem)."""
    if "=" in text:
        return name_path(text)
    path = Path(text)
    return (path.parent.absolute().name if path.name == "summary.json" else path.stem), text


def run_compare(args) -> int:
    from ..io import DataError, read_json
    from ..report.compare import write_comparison

    summaries = dict(args.summaries)
    if len(summaries) < len(args.summaries):
        names = [name for name, _ in args.summaries]
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"--summaries: runs named twice {twice}; give them as RUN=PATH")
    evalset = args.evalset
    if evalset is None:  # as the workflow's sweep: the first run's first evaluation set
        name, first = args.summaries[0]
        sets = list(read_json(first, "run summary", ["evaluation"])["evaluation"])
        if not sets:
            raise DataError(f"{first}: run '{name}' has no evaluation to compare on")
        evalset = sets[0]
    runs, variants = write_comparison(
        summaries,
        args.overrides,
        evalset,
        args.runs_csv,
        args.variants_csv,
        args.figure,
    )
    print(variants.to_string(index=False))
    return 0
