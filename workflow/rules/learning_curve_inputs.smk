# Input and param functions of the rules in learning_curve.smk (which includes this file).
from direction_tagger.config import original_groups

LEARNING_CURVE_FILES = ["learning_curve.csv", "learning_curve.png", "learning_curve.md"]
LC_POINT = f"{RESULTS}/learning_curve/n{{lc_count}}_s{{lc_seed}}"
LC_LOGS = f"{LOGS}/learning_curve/n{{lc_count}}_s{{lc_seed}}"


def learning_curve_targets():
    """The learning curve of every run (`snakemake learning_curve`)."""
    return [
        f"results/{run}/learning_curve/{name}"
        for run in base_runs()
        for name in LEARNING_CURVE_FILES
    ]


def originals_input(wildcards):
    """Every point is tested on the run's test part: without one there is no curve. The
    originals are `recover`'s copy groups when the library says so (direction_tagger.config).
    """
    if run_config(wildcards)["split"]["test"] <= 0:
        raise WorkflowError(
            f"learning_curve needs test recordings: run '{wildcards.run}' has split.test 0; set "
            "split.test > 0 (e.g. 0.1) so every subset is tested on the same held-out frames"
        )
    kind, _ = original_groups(config)
    return {"groups": f"{DATA}/originals_groups.npz"} if kind == "file" else {}


def originals_key(wildcards):
    return original_groups(config)[1]


def learning_curve_points(name):
    def paths(wildcards):
        lc = config["learning_curve"]
        return [
            f"results/{wildcards.run}/learning_curve/n{count}_s{seed}/{name}"
            for count in lc["counts"]
            for seed in lc["seeds"]
        ]

    return paths


def learning_curve_train_options(wildcards):
    """The run's training options, with this point's seed (its subset's seed too)."""
    return as_json(run_config(wildcards)["train"] | {"seed": int(wildcards.lc_seed)})
