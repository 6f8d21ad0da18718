"""Rule summary -> `direction-tagger summary` -> direction_tagger.report.summary."""

from run_command import run_command

run_command(
    snakemake,
    "summary",
    run=snakemake.wildcards.run,
    model=snakemake.input.model,
    train_log=snakemake.input.train_log,
    split=snakemake.input.split,
    metrics=snakemake.params.metrics,
    movie_qc=snakemake.params.qc,
    before=snakemake.input.get("before"),
    out=snakemake.output.markdown,
    json=snakemake.output.json,
)
