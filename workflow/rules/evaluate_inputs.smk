# Input and param functions of the rules in evaluate.smk (which includes this file).
def evaluation_sets(run):
    """name -> (labelled path, part of the run's split or None) for one run."""
    sets = {}
    if RUN_CONFIGS[run]["split"]["test"] > 0:
        sets["heldout"] = (run_training_set(run), "test")
    for name, path in labelled_sets().items():
        if name != "training":
            sets[name] = (path, None)
    return sets


def eval_data(wildcards):
    return checked(evaluation_sets(wildcards.run)[wildcards.evalset][0])


def eval_subset(wildcards):
    return evaluation_sets(wildcards.run)[wildcards.evalset][1]


def eval_split(wildcards, input):
    return input.split if eval_subset(wildcards) else None


def calibration_for(section):
    """The calibration made with the TTA this section's predictions use."""

    def path(wildcards):
        tta = tta_count(run_config(wildcards)[section]["tta"])
        return f"results/{wildcards.run}/calibration/tta{tta}.json"

    return path
