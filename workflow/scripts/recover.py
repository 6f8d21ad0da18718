"""Rule recover_originals -> `direction-tagger recover` -> direction_tagger.originals.recover."""

from run_command import run_command

run_command(
    snakemake,
    "recover",
    data=snakemake.params.data,
    out=snakemake.output.originals,
    groups=snakemake.output.groups,
    report=snakemake.output.report,
    montage=snakemake.output.montage,
    threads=snakemake.threads,
)
