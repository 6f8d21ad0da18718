"""Rule download_published -> `direction-tagger download` -> direction_tagger.data.download."""

from run_command import run_command

run_command(
    snakemake,
    "download",
    source=snakemake.params.source,
    out=snakemake.params.file,
    member=snakemake.wildcards.published,
    sha256=snakemake.params.sha256,
)
