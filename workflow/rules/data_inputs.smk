# Input and param functions of the rules in data.smk (which includes this file).
import glob
import os


def synth_frames(wildcards):
    key = "train_frames" if wildcards.part == "train" else "test_frames"
    return config["data"]["synthetic"][key]


def synth_seed(wildcards):
    return config["data"]["synthetic"]["seed"] + (0 if wildcards.part == "train" else 1)


def synthetic_movie(key, default=None):
    def value(wildcards):
        return config["synthetic_movies"][wildcards.movie].get(key, default)

    return value


def labelled_path(wildcards):
    return checked(labelled_sets()[wildcards.dataset])


def expected_frames(wildcards):
    if wildcards.dataset == "training" and config["data"]["source"] == "published":
        return config["data"]["published"]["expected_frames"] or 0
    return 0


def dlc_labels(wildcards):
    """The DLC project's label files (and so its re-import when one changes)."""
    project = config["data"]["dlc"]["project"]
    if not project:
        raise WorkflowError(
            "config data.dlc.project: set it to your DeepLabCut project folder"
        )
    found = sorted(
        glob.glob(
            os.path.join(
                glob.escape(project), "labeled-data", "*", "CollectedData_*.csv"
            )
        )
    )
    if not found:
        raise WorkflowError(
            f"config data.dlc.project: {project} holds no labeled-data/*/CollectedData_*.csv"
        )
    return found
