"""One module per stage of the workflow, in pipeline order; each defines `register(subparsers)`."""

STAGES = ["data", "originals", "train", "evaluate", "learning_curve", "movies", "videos", "report"]
