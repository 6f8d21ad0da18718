# Input and param functions of the rules in refine.smk (which includes this file).
import os

from direction_tagger.config import REFINED


def refine_sources(wildcards):
    """Every movie and video of the run: the predictions table and frames refine reads."""
    files = {}
    for name in movies():
        if name in videos():
            files[f"table_{name}"] = (
                f"results/{wildcards.run}/videos/{name}/predictions.csv"
            )
            files[f"video_{name}"] = videos()[name]
        else:
            files[f"table_{name}"] = (
                f"results/{wildcards.run}/movies/{name}/predictions.csv"
            )
        files[f"movie_{name}"] = run_movie(wildcards.run, name)
    return files


def refine_arguments(wildcards, input):
    """`--movie NAME TABLE MOVIE` and `--video NAME TABLE MOVIE VIDEO` words, one per movie."""
    words = []
    for name in movies():
        frames = str(input[f"movie_{name}"]).removesuffix(".sha256")
        table = str(input[f"table_{name}"])
        if name in videos():
            words += ["--video", name, table, frames, str(input[f"video_{name}"])]
        else:
            words += ["--movie", name, table, frames]
    return words


def refine_labels(wildcards):
    labels = config["refine"]["labels"]
    if not os.path.exists(labels):
        raise WorkflowError(
            f"config refine.labels: {labels} does not exist; give the CSV the labelling page "
            "saved, or a folder of labeled-data/*/CollectedData_*.csv"
        )
    return labels


def refine_targets(wildcards):
    """`snakemake refine`: every run's frames to label; with refine.labels, every run's
    refined run too. (A function: a config without movies plans other targets.)"""
    if not movies():
        raise WorkflowError(
            "refine chooses frames of the run's movies and videos: the config has none "
            "(add `movies:` or `videos:`)"
        )
    targets = [f"results/{run}/refine" for run in base_runs()]
    if config["refine"]["labels"]:
        targets += [f"results/{run}{REFINED}/summary.md" for run in base_runs()]
    return targets
