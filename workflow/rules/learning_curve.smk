# Learning curve: how many frames must a lab label? One model per nested random subset of the
# labelled originals (count x seed), each tested on the run's unchanged test part.
#   snakemake --cores all learning_curve


include: "learning_curve_inputs.smk"


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
        data=file_of("data"),
        group_key=originals_key,
    script:
        "../scripts/subsample_split.py"


rule learning_curve_train:
    input:
        unpack(start_model_input),
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
        data=file_of("data"),
        options=learning_curve_train_options,
        checkpoint=f"{LC_POINT}/checkpoint.pt",
    script:
        "../scripts/train.py"


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
        data=file_of("data"),
        split=file_of("split"),
        subset="test",
        name="heldout",
        tta=tta_setting("evaluate"),
    script:
        "../scripts/evaluate.py"


rule learning_curve_summary:
    input:
        splits=learning_curve_points("split.json"),
        metrics=learning_curve_points("metrics.json"),
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
    script:
        "../scripts/learning_curve.py"


rule learning_curve:
    input:
        learning_curve_targets(),
    localrule: True
