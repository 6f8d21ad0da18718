"""Rule synth_labelled -> `direction-tagger synth labelled` -> direction_tagger.data.synth."""

from run_command import run_command

run_command(
    snakemake,
    "synth",
    "labelled",
    n=snakemake.params.frames,
    seed=snakemake.params.seed,
    out=snakemake.output.data,
    montage=snakemake.output.montage,
)
