"""Rule flag_map -> `direction-tagger flag-map` -> direction_tagger.videos.figures."""

from run_command import run_command

run_command(
    snakemake,
    "flag-map",
    predictions=snakemake.input.predictions,
    background=snakemake.input.background,
    out=snakemake.output[0],
)
