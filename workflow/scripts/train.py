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
    start_model=snakemake.input.get("start"),
    fine_tune=snakemake.input.get("fine_tune"),
    threads=snakemake.threads,
)
