"""Rule refine_frames -> `direction-tagger refine` -> direction_tagger.refine.extract."""

from run_command import run_command

run_command(
    snakemake,
    "refine",
    *snakemake.params.sources,
    labelled=snakemake.params.labelled,
    frames=snakemake.params.frames,
    scorer=snakemake.params.scorer,
    out=snakemake.output[0],
    quiet=True,
)
