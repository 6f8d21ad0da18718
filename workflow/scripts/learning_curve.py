"""Rule learning_curve_summary -> `direction-tagger learning-curve` ->
direction_tagger.learning_curve."""

from run_command import run_command

run_command(
    snakemake,
    "learning-curve",
    splits=snakemake.input.splits,
    metrics=snakemake.input.metrics,
    csv=snakemake.output.csv,
    figure=snakemake.output.figure,
    markdown=snakemake.output.markdown,
    title=snakemake.wildcards.run,
)
