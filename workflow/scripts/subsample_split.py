"""Rule learning_curve_split -> `direction-tagger subsample-split` ->
direction_tagger.originals.split.subsample_originals."""

from run_command import run_command

run_command(
    snakemake,
    "subsample-split",
    split=snakemake.input.split,
    data=snakemake.params.data,
    groups=snakemake.input.get("groups"),
    group_key=snakemake.params.group_key,
    count=snakemake.wildcards.lc_count,
    seed=snakemake.wildcards.lc_seed,
    out=snakemake.output[0],
)
