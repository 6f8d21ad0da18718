"""Rule synth_movie -> `direction-tagger synth movie` -> direction_tagger.data.synth."""

from run_command import run_command

run_command(
    snakemake,
    "synth",
    "movie",
    frames=snakemake.params.frames,
    seed=snakemake.params.seed,
    fps=snakemake.params.fps,
    out=snakemake.output.movie,
    montage=snakemake.output.montage,
)
