# A short summary of the run: what was trained, how accurate, how the movies look.


rule summary:
    input:
        unpack(summary_inputs),
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
    shell:
        "direction-tagger summary --run {wildcards.run} --model {input.model}"
        " --train-log {input.train_log} --split {input.split} --metrics {params.metrics} --movie-qc {params.qc}"
        " --out {output.markdown} --json {output.json} > {log} 2>&1"


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
    shell:
        "direction-tagger compare --summaries {params.summaries}"
        " --overrides {params.overrides:q} --evalset {params.evalset}"
        " --runs-csv {output.runs} --variants-csv {output.variants}"
        " --figure {output.figure} > {log} 2>&1"
