"""Rule augment_originals -> `direction-tagger augment` -> direction_tagger.originals.augment."""

from run_command import run_command

run_command(
    snakemake,
    "augment",
    *snakemake.params.options,
    data=snakemake.input.data,
    out=snakemake.output.data,
    montage=snakemake.output.montage,
)
