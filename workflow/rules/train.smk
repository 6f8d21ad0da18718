# Training: a budget of optimiser steps; resumes from its last checkpoint when re-run after a kill.


include: "train_inputs.smk"


rule train:
    input:
        unpack(train_init),
        data=run_data,
        split=f"{RESULTS}/split.json",
        verified=verified("training"),
    output:
        model=f"{RESULTS}/model.pt",
        log_csv=f"{RESULTS}/training_log.csv",
        curves=report(
            f"{RESULTS}/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
        ),
    log:
        f"{LOGS}/train.log",
    benchmark:
        f"{LOGS}/benchmarks/train.tsv"
    retries: 2
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    resources:
        mem_mb=16000,
        runtime=720,
    params:
        data=file_of("data"),
        options=train_options,
        checkpoint=f"{RESULTS}/checkpoint.pt",
    script:
        "../scripts/train.py"
