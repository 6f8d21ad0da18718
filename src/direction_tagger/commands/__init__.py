"""One module per group of subcommands; each defines `register(subparsers)`.

`direction_tagger.cli` imports every module here, so adding a command is adding a file.
"""
