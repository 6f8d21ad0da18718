# Learning curve: how many frames must a lab label? One model per nested random subset of the
# labelled originals (count x seed), each tested on the run's unchanged test part.
#   snakemake --cores all learning_curve

if learning_curve_requested():
    check_learning_curve_runs()


rule learning_curve_split:
    input:
        unpack(originals_input),
        data=checked(training_set()),
        split=f"{RESULTS}/split.json",
    output:
        f"{LC_POINT}/split.json",
    log:
        f"{LC_LOGS}/split.log",
    benchmark:
        f"{LC_LOGS}/benchmarks/split.tsv"
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        data=data_file,
        originals=originals_args,
    shell:
        "direction-tagger subsample-split --split {input.split} --data {params.data}"
        " {params.originals} --count {wildcards.lc_count} --seed {wildcards.lc_seed}"
        " --out {output} > {log} 2>&1"


rule learning_curve_train:
    input:
        data=checked(training_set()),
        split=f"{LC_POINT}/split.json",
        verified=verified("training"),
    output:
        model=f"{LC_POINT}/model.pt",
        log_csv=f"{LC_POINT}/training_log.csv",
    log:
        f"{LC_LOGS}/train.log",
    benchmark:
        f"{LC_LOGS}/benchmarks/train.tsv"
    retries: 2
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    resources:
        mem_mb=16000,
        runtime=720,
    params:
        data=data_file,
        options=learning_curve_train_options,
        checkpoint=f"{LC_POINT}/checkpoint.pt",
    shell:
        "direction-tagger train --data {params.data} --split {input.split}"
        " --out {output.model} --log {output.log_csv} --checkpoint {params.checkpoint}"
        " --options {params.options:q} --threads {threads} > {log} 2>&1"


rule learning_curve_evaluate:
    input:
        model=f"{LC_POINT}/model.pt",
        data=checked(training_set()),
        split=f"{LC_POINT}/split.json",
    output:
        metrics=f"{LC_POINT}/metrics.json",
        frames=f"{LC_POINT}/frames.csv",
    log:
        f"{LC_LOGS}/evaluate.log",
    benchmark:
        f"{LC_LOGS}/benchmarks/evaluate.tsv"
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    params:
        data=data_file,
        tta=flag_setting("evaluate", "tta", "tta"),
    shell:
        "direction-tagger evaluate --model {input.model} --data {params.data}"
        " --split {input.split} --subset test --name heldout"
        " --metrics {output.metrics} --frames {output.frames} {params.tta} > {log} 2>&1"


rule learning_curve_summary:
    input:
        splits=learning_curve_splits,
        metrics=learning_curve_metrics,
    output:
        csv=f"{RESULTS}/learning_curve/learning_curve.csv",
        figure=report(
            f"{RESULTS}/learning_curve/learning_curve.png",
            caption="../report/learning_curve.rst",
            category="Learning curve",
            subcategory="{run}",
        ),
        markdown=f"{RESULTS}/learning_curve/learning_curve.md",
    log:
        f"{LOGS}/learning_curve/summary.log",
    benchmark:
        f"{LOGS}/learning_curve/benchmarks/summary.tsv"
    localrule: True
    conda:
        "../../envs/render.yaml"
    shell:
        "direction-tagger learning-curve --splits {input.splits} --metrics {input.metrics}"
        " --csv {output.csv} --figure {output.figure} --markdown {output.markdown}"
        " --title {wildcards.run} > {log} 2>&1"


rule learning_curve:
    input:
        learning_curve_targets(),
    localrule: True
