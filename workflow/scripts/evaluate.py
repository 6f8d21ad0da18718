"""Rules evaluate, learning_curve_evaluate -> `direction-tagger evaluate` ->
direction_tagger.evaluate."""

from run_command import run_command

run_command(
    snakemake,
    "evaluate",
    model=snakemake.input.model,
    data=snakemake.params.data,
    split=snakemake.params.split,
    subset=snakemake.params.subset,
    name=snakemake.params.name,
    metrics=snakemake.output.metrics,
    frames=snakemake.output.frames,
    figure=snakemake.output.get("figure"),
    worst=snakemake.output.get("worst"),
    calibration=snakemake.input.get("calibration"),
    reference=snakemake.input.get("reference"),  # QC flags' precision on these frames
    reliability=snakemake.output.get("reliability"),
    tta=snakemake.params.tta,
    threads=snakemake.threads,
)
