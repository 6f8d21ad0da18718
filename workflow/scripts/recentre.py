"""Rule recentre_video -> `direction-tagger recentre` -> direction_tagger.videos.recentre."""

from run_command import run_command

run_command(
    snakemake,
    "recentre",
    video=snakemake.input.video,
    track=snakemake.input.track,
    movie=snakemake.input.movie,
    background=snakemake.input.background,
    out_background=snakemake.output.background,
    model=snakemake.input.model,
    out_movie=snakemake.output.movie,
    out_table=snakemake.output.table,
    summary=snakemake.output.summary,
    batch_size=snakemake.params.batch_size,
    passes=snakemake.params.passes,
    threads=snakemake.threads,
    quiet=True,
)
