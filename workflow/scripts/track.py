"""Rule track_video -> `direction-tagger track` -> direction_tagger.videos.track."""

from run_command import run_command

run_command(
    snakemake,
    "track",
    video=snakemake.input.video,
    movie=snakemake.output.movie,
    table=snakemake.output.table,
    qc=snakemake.output.qc,
    figure=snakemake.output.figure,
    background=snakemake.output.background,
    crop_side=snakemake.params.crop_side,
    crop_scale=snakemake.params.crop_scale,
    smooth_window=snakemake.params.smooth_window,
    polarity=snakemake.params.polarity,
    background_frames=snakemake.params.background_frames,
    quiet=True,
)
