# Originals behind an augmented set: recover them, optionally re-augment, and split by group.


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
    threads: 2
    resources:
        mem_mb=4000,
    params:
        data=data_file,
    shell:
        "direction-tagger recover --data {params.data} --out {output.originals}"
        " --groups {output.groups} --report {output.report} --montage {output.montage}"
        " > {log} 2>&1"


rule augment_originals:
    input:
        f"{DATA}/originals.npz",
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
    shell:
        "direction-tagger augment --data {input} --out {output.data}"
        " --montage {output.montage} {params.options} > {log} 2>&1"


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
        data=data_file,
        fractions=split_fractions,
        seed=setting("split", "seed"),
        groups=split_group_args,
    shell:
        "direction-tagger split --data {params.data} {params.groups}"
        " --fractions {params.fractions} --seed {params.seed} --out {output} > {log} 2>&1"
