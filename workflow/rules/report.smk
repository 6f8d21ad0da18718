# A short summary of each run (what was trained, how accurate, how the movies look), and the
# comparison of a sweep's runs.


include: "report_inputs.smk"


rule summary:
    input:
        unpack(summary_inputs),
        unpack(summary_before),
        model=f"{RESULTS}/model.pt",
        train_log=f"{RESULTS}/training_log.csv",
        split=f"{RESULTS}/split.json",
    output:
        markdown=report(
            f"{RESULTS}/summary.md",
            caption="../report/summary.rst",
            category="Summary",
        ),
        json=f"{RESULTS}/summary.json",
    log:
        f"{LOGS}/summary.log",
    benchmark:
        f"{LOGS}/benchmarks/summary.tsv"
    localrule: True
    conda:
        "../../envs/train.yaml"
    params:
        metrics=summary_metrics_arg,
        qc=summary_qc_arg,
    script:
        "../scripts/summary.py"


rule compare_runs:
    input:
        **sweep_summaries(),
    output:
        runs=SWEEP_OUTPUTS[0],
        variants=report(
            SWEEP_OUTPUTS[1], caption="../report/sweep.rst", category="Sweep"
        ),
        figure=report(SWEEP_OUTPUTS[2], caption="../report/sweep.rst", category="Sweep"),
    log:
        "logs/sweep/compare_runs.log",
    benchmark:
        "logs/sweep/benchmarks/compare_runs.tsv"
    localrule: True
    conda:
        "../../envs/render.yaml"
    params:
        summaries=pairs(sweep_summaries()),
        overrides=as_json(config["runs"]),
        evalset=sweep_evalset(),
    script:
        "../scripts/compare.py"
