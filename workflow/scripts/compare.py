"""Rule compare_runs -> `direction-tagger compare` -> direction_tagger.report.compare."""

from run_command import run_command

run_command(
    snakemake,
    "compare",
    summaries=snakemake.params.summaries,
    overrides=snakemake.params.overrides,
    evalset=snakemake.params.evalset,
    runs_csv=snakemake.output.runs,
    variants_csv=snakemake.output.variants,
    figure=snakemake.output.figure,
)
