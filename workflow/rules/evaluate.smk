# Accuracy on labelled data the model never trained on, and the calibration that turns the
# model's confidence into a probability of being within 2 px (fitted on the validation frames).


include: "evaluate_inputs.smk"


rule calibrate:
    input:
        model=f"{RESULTS}/model.pt",
        data=run_data,
        split=f"{RESULTS}/split.json",
    output:
        calibration=f"{RESULTS}/calibration/tta{{tta}}.json",
        reliability=report(
            f"{RESULTS}/calibration/tta{{tta}}_validation.png",
            caption="../report/reliability.rst",
            category="Evaluation",
            subcategory="calibration",
        ),
    log:
        f"{LOGS}/calibrate_tta{{tta}}.log",
    benchmark:
        f"{LOGS}/benchmarks/calibrate_tta{{tta}}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    params:
        data=file_of("data"),
    script:
        "../scripts/calibrate.py"


rule evaluate:
    input:
        model=f"{RESULTS}/model.pt",
        data=eval_data,
        split=f"{RESULTS}/split.json",
        calibration=calibration_for("evaluate"),
        reference=f"{RESULTS}/label_reference.json",
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
        reliability=report(
            f"{RESULTS}/eval/{{evalset}}/reliability.png",
            caption="../report/reliability.rst",
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
