"""Rule render_on_video -> `direction-tagger render-video` -> direction_tagger.videos.render."""

from run_command import run_command

run_command(
    snakemake,
    "render-video",
    video=snakemake.input.video,
    predictions=snakemake.input.predictions,
    out=snakemake.output[0],
    view=snakemake.params.view,
    size=snakemake.params.size,
    quiet=True,
)
