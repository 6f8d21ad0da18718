"""Rule smooth_movie -> `direction-tagger smooth` -> direction_tagger.movies.postprocess."""

from run_command import run_command

run_command(
    snakemake,
    "smooth",
    predictions=snakemake.input.raw,
    out=snakemake.output.smooth,
    method=snakemake.params.method,
    window=snakemake.params.window,
    min_confidence=snakemake.params.min_confidence,
    max_gap=snakemake.params.max_gap,
    reference=snakemake.input.reference,
    calibration=snakemake.input.calibration,
    track=snakemake.input.get("track") or None,  # a tracked video only
    movie=snakemake.input.get("movie") or None,
    background=snakemake.input.get("background") or None,
    flag_risk=snakemake.params.flag_risk,
    unfamiliar=snakemake.params.unfamiliar,
    no_polarity=not snakemake.params.polarity,
    qc_json=snakemake.output.qc,
    dlc_csv=snakemake.output.dlc,
)
