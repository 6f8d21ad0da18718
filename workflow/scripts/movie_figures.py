"""Rule movie_figures -> `direction-tagger movie-figures` -> direction_tagger.movies.figures."""

from run_command import run_command

run_command(
    snakemake,
    "movie-figures",
    predictions=snakemake.input[0],
    outdir=snakemake.params.outdir,
)
