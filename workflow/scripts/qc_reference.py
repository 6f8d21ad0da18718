"""Rule label_reference -> `direction-tagger qc-reference` -> direction_tagger.movies.qc."""

from run_command import run_command

run_command(
    snakemake,
    "qc-reference",
    labelled=snakemake.params.data,
    out=snakemake.output[0],
)
