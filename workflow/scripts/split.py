"""Rule split -> `direction-tagger split` -> direction_tagger.originals.split."""

from run_command import run_command

run_command(
    snakemake,
    "split",
    data=snakemake.params.data,
    groups=snakemake.input.get("groups"),
    group_key=snakemake.params.group_key,
    fractions=snakemake.params.fractions,
    seed=snakemake.params.seed,
    out=snakemake.output[0],
)
