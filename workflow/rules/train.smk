# Training: a budget of optimiser steps; resumes from its last checkpoint when re-run after a kill.
# It starts from random weights or fine-tunes a start model (train.init): by default the
# pretrained one, made once per architecture by rule pretrain and shared by every run.


include: "train_inputs.smk"


rule train:
    input:
        unpack(start_model_input),
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


rule pretrain:
    output:
        model=f"{PRETRAINED}/model.pt",
        log_csv=f"{PRETRAINED}/training_log.csv",
    log:
        f"logs/{PRETRAINED_FOLDER}/{{architecture}}/pretrain.log",
    benchmark:
        f"logs/{PRETRAINED_FOLDER}/{{architecture}}/benchmarks/pretrain.tsv"
    retries: 2
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    resources:
        mem_mb=16000,
        runtime=720,
    params:
        options=pretrain_options,
        checkpoint=f"{PRETRAINED}/checkpoint.pt",
    script:
        "../scripts/pretrain.py"
