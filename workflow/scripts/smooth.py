"""Rule smooth_movie -> `direction-tagger smooth` -> direction_tagger.movies.smooth and .qc."""

from run_command import run_command

run_command(
    snakemake,
    "smooth",
    "--predictions",
    snakemake.input.raw,
    "--out",
    snakemake.output.smooth,
    "--method",
    snakemake.params.method,
    "--window",
    snakemake.params.window,
    "--min-confidence",
    snakemake.params.min_confidence,
    "--max-gap",
    snakemake.params.max_gap,
    "--reference",
    snakemake.input.reference,
    "--qc-json",
    snakemake.output.qc,
    "--dlc-csv",
    snakemake.output.dlc,
)
