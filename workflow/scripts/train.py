"""Rules train, learning_curve_train -> `direction-tagger train` -> direction_tagger.train.loop."""

from run_command import run_command

run_command(
    snakemake,
    "train",
    data=snakemake.params.data,
    split=snakemake.input.split,
    out=snakemake.output.model,
    log=snakemake.output.log_csv,
    curves=snakemake.output.get("curves"),
    checkpoint=snakemake.params.checkpoint,
    options=snakemake.params.options,
    init=snakemake.input.get("init"),
    threads=snakemake.threads,
)
