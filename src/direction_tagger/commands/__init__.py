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
