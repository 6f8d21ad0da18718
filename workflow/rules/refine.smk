# Refine: the frames the model likely got wrong, chosen for labelling in a browser.
#   snakemake --cores all refine


include: "refine_inputs.smk"


rule refine_frames:
    input:
        unpack(refine_sources),
        labelled=checked(training_set()),
    output:
        directory(f"{RESULTS}/refine"),
    log:
        f"{LOGS}/refine_frames.log",
    benchmark:
        f"{LOGS}/benchmarks/refine_frames.tsv"
    conda:
        "../../envs/render.yaml"
    params:
        sources=refine_arguments,
        labelled=file_of("labelled"),
        frames=config["refine"]["frames"],
        scorer=config["refine"]["scorer"],
    script:
        "../scripts/refine.py"


rule refine:
    input:
        refine_targets,
    localrule: True


# refine.labels given: the corrected frames join the training set of results/{run}_refined/,
# whose model is fine-tuned from the run's (train.smk), evaluated on the same held-out frames
# and applied to the same movies; its summary.md shows before / after.
ruleorder: refine_merge > split


rule refine_merge:
    input:
        labels=refine_labels,
        folder=f"{RESULTS}/refine",
        data=checked(training_set()),
        split=f"{RESULTS}/split.json",
    output:
        data=f"{RESULTS}{REFINED}/training_set.npz",
        split=f"{RESULTS}{REFINED}/split.json",
        summary=f"{RESULTS}{REFINED}/refine_merge.json",
    log:
        f"{LOGS}{REFINED}/refine_merge.log",
    benchmark:
        f"{LOGS}{REFINED}/benchmarks/refine_merge.tsv"
    localrule: True
    conda:
        "../../envs/render.yaml"
    params:
        data=file_of("data"),
    script:
        "../scripts/refine_merge.py"
