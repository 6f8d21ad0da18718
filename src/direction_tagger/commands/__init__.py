"""One module per stage of the workflow, in pipeline order; each defines `register(subparsers)`.
`live` comes last: no workflow step, the library applied frame by frame as frames come."""

STAGES = [
    "data",
    "originals",
    "train",
    "evaluate",
    "learning_curve",
    "movies",
    "videos",
    "refine",
    "report",
    "live",
]

# The stage that registers each command: `direction-tagger CMD` imports that stage alone
# (starting every command with all ten stages cost ~40 ms, a fifth of a short to-nwb).
# tests/test_cli.py checks it against what the stages register.
COMMAND_STAGE = {
    **dict.fromkeys(("synth", "download", "verify"), "data"),
    **dict.fromkeys(("recover", "augment", "split"), "originals"),
    **dict.fromkeys(("train", "pretrain"), "train"),
    **dict.fromkeys(("evaluate", "calibrate"), "evaluate"),
    **dict.fromkeys(("subsample-split", "learning-curve"), "learning_curve"),
    **dict.fromkeys(
        ("predict", "smooth", "tag-movies", "render", "to-nwb", "movie-figures", "qc-reference"),
        "movies",
    ),
    **dict.fromkeys(
        ("track", "recentre", "to-video", "render-video", "flag-map", "import-dlc", "synth-video"),
        "videos",
    ),
    **dict.fromkeys(("refine-merge", "refine"), "refine"),
    **dict.fromkeys(("compare", "summary"), "report"),
    "live": "live",
}
