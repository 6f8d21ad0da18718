# Training: a budget of optimiser steps; resumes from its last checkpoint when re-run after a kill.


rule train:
    input:
        data=checked(training_set()),
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
        data=data_file,
        options=train_options,
        checkpoint=f"{RESULTS}/checkpoint.pt",
    shell:
        "direction-tagger train --data {params.data} --split {input.split}"
        " --out {output.model} --log {output.log_csv} --curves {output.curves}"
        " --checkpoint {params.checkpoint} --options {params.options:q} --threads {threads} > {log} 2>&1"
