"""Rule predict_movie -> `direction-tagger predict` -> direction_tagger.movies.predict."""

from run_command import run_command

run_command(
    snakemake,
    "predict",
    model=snakemake.input.model,
    movie=snakemake.params.movie,
    out=snakemake.output.raw,
    truth_metrics=snakemake.output.truth,
    tta=snakemake.params.tta,
    batch_size=snakemake.params.batch_size,
    threads=snakemake.threads,
)
