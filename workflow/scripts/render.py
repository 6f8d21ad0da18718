"""Rule render_movie -> `direction-tagger render` -> direction_tagger.movies.render."""

from run_command import run_command

run_command(
    snakemake,
    "render",
    movie=snakemake.params.movie,
    predictions=snakemake.input.predictions,
    out=snakemake.output[0],
    scale=snakemake.params.scale,
    trail=snakemake.params.trail,
    panel=snakemake.params.panel,
)
