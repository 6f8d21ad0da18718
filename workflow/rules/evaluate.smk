# Accuracy on labelled data the model never trained on.


include: "evaluate_inputs.smk"


rule evaluate:
    input:
        model=f"{RESULTS}/model.pt",
        data=eval_data,
        split=f"{RESULTS}/split.json",
    output:
        metrics=f"{RESULTS}/eval/{{evalset}}/metrics.json",
        frames=f"{RESULTS}/eval/{{evalset}}/frames.csv",
        figure=report(
            f"{RESULTS}/eval/{{evalset}}/errors.png",
            caption="../report/eval_errors.rst",
            category="Evaluation",
            subcategory="{evalset}",
        ),
        worst=report(
            f"{RESULTS}/eval/{{evalset}}/worst_frames.png",
            caption="../report/eval_worst.rst",
            category="Evaluation",
            subcategory="{evalset}",
        ),
    log:
        f"{LOGS}/evaluate_{{evalset}}.log",
    benchmark:
        f"{LOGS}/benchmarks/evaluate_{{evalset}}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    params:
        data=file_of("data"),
        split=eval_split,
        subset=eval_subset,
        name="{evalset}",
        tta=tta_setting("evaluate"),
    script:
        "../scripts/evaluate.py"
