"""Rule split -> `direction-tagger split` -> direction_tagger.originals.split."""

from run_command import option, run_command

run_command(
    snakemake,
    "split",
    "--data",
    snakemake.params.data,
    *option("--groups", snakemake.input.get("groups")),
    *option("--group-key", snakemake.params.group_key),
    "--fractions",
    snakemake.params.fractions,
    "--seed",
    snakemake.params.seed,
    "--out",
    snakemake.output[0],
)
