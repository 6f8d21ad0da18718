"""Rule import_dlc -> `direction-tagger import-dlc` -> direction_tagger.data.dlc."""

from run_command import run_command

run_command(
    snakemake,
    "import-dlc",
    snakemake.params.project,
    out=snakemake.output.data,
    summary=snakemake.output.summary,
    head=snakemake.params.head,
    neck=snakemake.params.neck,
    base=snakemake.params.base,
    crop_scale=snakemake.params.crop_scale,
    polarity=snakemake.params.polarity,
    quiet=True,
)
