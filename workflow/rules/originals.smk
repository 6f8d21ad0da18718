# Originals behind an augmented set: recover them, optionally re-augment, and split by group.


include: "originals_inputs.smk"


rule recover_originals:
    input:
        data=checked(source_labelled()),
        verified=verified("training"),
    output:
        originals=f"{DATA}/originals.npz",
        groups=f"{DATA}/originals_groups.npz",
        report=f"{DATA}/originals_report.json",
        montage=report(
            f"{DATA}/originals_montage.png",
            caption="../report/originals_montage.rst",
            category="Data",
        ),
    log:
        "logs/data/recover_originals.log",
    benchmark:
        "logs/benchmarks/recover_originals.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1  # its matrix products are many and small: one thread is fastest
    resources:
        mem_mb=4000,
    params:
        data=file_of("data"),
    script:
        "../scripts/recover.py"


rule augment_originals:
    input:
        data=f"{DATA}/originals.npz",
    output:
        data=f"{DATA}/augmented.npz",
        montage=report(
            f"{DATA}/augmented_montage.png",
            caption="../report/augmented_montage.rst",
            category="Data",
        ),
    log:
        "logs/data/augment_originals.log",
    benchmark:
        "logs/benchmarks/augment_originals.tsv"
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=4000,
    params:
        options=augment_options,
    script:
        "../scripts/augment.py"


rule split:
    input:
        unpack(split_groups_input),
        data=checked(training_set()),
    output:
        f"{RESULTS}/split.json",
    log:
        f"{LOGS}/split.log",
    benchmark:
        f"{LOGS}/benchmarks/split.tsv"
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        data=file_of("data"),
        fractions=split_fractions,
        seed=setting("split", "seed"),
        group_key=split_group_key,
    script:
        "../scripts/split.py"
