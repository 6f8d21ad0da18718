"""Rule video_predictions -> `direction-tagger to-video` -> direction_tagger.videos.to_video."""

from run_command import run_command

run_command(
    snakemake,
    "to-video",
    predictions=snakemake.input.predictions,
    track=snakemake.input.track,
    dlc_csv=snakemake.input.dlc,
    out=snakemake.output.table,
    dlc_out=snakemake.output.dlc,
)
