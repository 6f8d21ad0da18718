"""Rule tag_movies_<run>_<batch> -> `direction-tagger tag-movies` -> direction_tagger.movies.chunked."""

from run_command import run_command

smooth = snakemake.params.smooth
run_command(
    snakemake,
    "tag-movies",
    model=snakemake.input.model,
    movies=snakemake.params.movies,
    outdirs=snakemake.params.outdirs,
    tta=snakemake.params.tta,
    batch_size=snakemake.params.predict["batch_size"],
    threads=snakemake.threads,
    method=smooth["method"],
    window=smooth["window"],
    min_confidence=smooth["min_confidence"],
    max_gap=smooth["max_gap"],
    reference=snakemake.input.reference,
    calibration=snakemake.input.calibration,
    flag_risk=smooth["flag_risk"],
    unfamiliar=smooth["unfamiliar"],
    no_polarity=not smooth["polarity"],
)
