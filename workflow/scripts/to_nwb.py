"""Rule movie_nwb -> `direction-tagger to-nwb` -> direction_tagger.movies.nwb."""

from run_command import run_command

run_command(
    snakemake,
    "to-nwb",
    predictions=snakemake.input.table,
    model=snakemake.input.model,
    source=snakemake.params.source,
    out=snakemake.output.nwb,
    subject=snakemake.params.subject,
    species=snakemake.params.species,
    age=snakemake.params.age,
)
