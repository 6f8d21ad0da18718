"""Rule verify -> `direction-tagger verify` -> direction_tagger.data.verify."""

from run_command import run_command

run_command(
    snakemake,
    "verify",
    data=snakemake.params.data,
    summary=snakemake.output.summary,
    montage=snakemake.output.montage,
    plots_dir=snakemake.params.plots,
    expected_n=snakemake.params.expected,
)
