"""Rule calibrate -> `direction-tagger calibrate` -> direction_tagger.evaluate.calibration."""

from run_command import run_command

run_command(
    snakemake,
    "calibrate",
    model=snakemake.input.model,
    data=snakemake.params.data,
    split=snakemake.input.split,
    tta=snakemake.wildcards.tta,
    out=snakemake.output.calibration,
    reliability=snakemake.output.reliability,
    threads=snakemake.threads,
)
