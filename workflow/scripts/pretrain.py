"""Rule pretrain -> `direction-tagger pretrain` -> direction_tagger.train.pretrain."""

from run_command import run_command

run_command(
    snakemake,
    "pretrain",
    out=snakemake.output.model,
    log=snakemake.output.log_csv,
    checkpoint=snakemake.params.checkpoint,
    options=snakemake.params.options,
    threads=snakemake.threads,
)
