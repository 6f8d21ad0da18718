"""Rules evaluate, learning_curve_evaluate -> `direction-tagger evaluate` ->
direction_tagger.evaluate."""

from run_command import option, run_command

run_command(
    snakemake,
    "evaluate",
    "--model",
    snakemake.input.model,
    "--data",
    snakemake.params.data,
    *option("--split", snakemake.params.split),
    *option("--subset", snakemake.params.subset),
    "--name",
    snakemake.params.name,
    "--metrics",
    snakemake.output.metrics,
    "--frames",
    snakemake.output.frames,
    *option("--figure", snakemake.output.get("figure")),
    *option("--worst", snakemake.output.get("worst")),
    "--tta",
    snakemake.params.tta,
    "--threads",
    snakemake.threads,
)
