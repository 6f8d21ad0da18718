"""Rule refine_merge -> `direction-tagger refine-merge` -> direction_tagger.refine.merge."""

from run_command import run_command

run_command(
    snakemake,
    "refine-merge",
    labels=snakemake.input.labels,
    refine_folder=snakemake.input.folder,
    data=snakemake.params.data,
    split=snakemake.input.split,
    out=snakemake.output.data,
    split_out=snakemake.output.split,
    summary=snakemake.output.summary,
)
