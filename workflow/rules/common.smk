# Paths and config access shared by the rules. Each input function sits beside its rule;
# decisions taken from the config live in the library (direction_tagger.config).
import functools
import json

from direction_tagger.config import (
    MOVIE_FILES,
    VIDEO_SUFFIXES,
    ConfigError,
    check_crop_side,
    expand_entries,
    movie_batches,
    movies_and_videos,
    tta_count,
    tracked_video_files,
)

RESULTS = "results/{run}"  # one folder per run; `runs:` in the config makes a sweep
LOGS = "logs/{run}"
DATA = "results/data"
VIDEOS = "results/videos"  # tracking does not depend on the run
SYNTH = "tagged_dataset/synthetic"


# --- this run's config (a sweep is several runs; RUN_CONFIGS is made in the Snakefile) ----
def run_names():
    return list(RUN_CONFIGS)


def base_runs():
    """The runs of the config (a sweep's), without the refined runs made from them."""
    return [run for run in RUN_CONFIGS if "refined_from" not in RUN_CONFIGS[run]]


def run_config(wildcards):
    return RUN_CONFIGS[wildcards.run]


def setting(section, key):
    """A param function reading one value of this run's config (so only it triggers re-runs)."""

    def value(wildcards):
        return run_config(wildcards)[section][key]

    return value


def tta_setting(section):
    def value(wildcards):
        return tta_count(run_config(wildcards)[section]["tta"])

    return value


def as_json(value):
    """A config section as one compact JSON string: a stable param for staleness checks."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- labelled data and movies ------------------------------------------------------------
# A published file is represented in the DAG by its checksum sidecar `<file>.sha256`, which
# the download step writes after checking the file, so a file the user put into tagged_dataset/
# is then checked too (never trusted, never deleted), and rules read the file beside it.


def published_files():
    if config["data"]["source"] != "published":
        return set()
    pub = config["data"]["published"]
    return {
        f"tagged_dataset/{pub['labelled_file']}",
        f"tagged_dataset/{pub['movie_file']}",
    }


def checked(path):
    """The DAG node standing for a data file: its sidecar if it is downloaded."""
    return f"{path}.sha256" if path in published_files() else path


def file_of(name):
    """A param function: the data file an input stands for (the input may be its sidecar)."""

    def path(wildcards, input):
        return str(input[name]).removesuffix(".sha256")

    return path


def source_labelled():
    """The labelled set as it arrives: synthetic, downloaded, or the user's own file."""
    source = config["data"]["source"]
    if source == "synthetic":
        return f"{SYNTH}/train.npz"
    if source == "dlc":
        return f"{DATA}/dlc/labelled.npz"
    if source == "file":
        if not config["data"].get("file"):
            raise WorkflowError(
                "config data.file: set it to your labelled .npz (data.source: file)"
            )
        return config["data"]["file"]
    return f"tagged_dataset/{config['data']['published']['labelled_file']}"


def training_set():
    """What training reads: the source set, or our re-augmentation of its recovered originals."""
    if config["originals"]["augment"]["enabled"]:
        return f"{DATA}/augmented.npz"
    return source_labelled()


def run_training_set(run):
    """What a run trains on: the training set, or for a refined run the set with the
    corrected frames appended (refine.smk)."""
    if "refined_from" in RUN_CONFIGS[run]:
        return f"results/{run}/training_set.npz"
    return training_set()


def run_data(wildcards):
    """A rule's input: this run's training set (its DAG node)."""
    return checked(run_training_set(wildcards.run))


def labelled_sets():
    """Every labelled set the workflow verifies, name -> path."""
    sets = {"training": source_labelled()}
    if config["data"]["source"] == "synthetic":
        sets["synthetic_test"] = f"{SYNTH}/test.npz"
    return sets | config["evaluate"]["sets"]


def verified(name):
    return f"{DATA}/verify/{name}/summary.json"


@functools.cache
def videos():
    """Every arena video to track, name -> video file."""
    try:
        found = expand_entries(config["videos"], VIDEO_SUFFIXES, "videos")
        check_crop_side(config["track"]["crop_side"], found)
    except ConfigError as err:
        raise WorkflowError(str(err))
    return found


@functools.cache  # the config is fixed once parsed; planning 1,000 movies asks thousands of times
def movies():
    """Every movie to tag, name -> .npz path (synthetic movies are rendered first, videos
    tracked and cropped first)."""
    found = {name: f"{SYNTH}/movie_{name}.npz" for name in config["synthetic_movies"]}
    try:
        found = expand_entries(config["movies"], taken=found)
        movies_and_videos(found, videos())
    except ConfigError as err:
        raise WorkflowError(str(err))
    return found | {name: f"{VIDEOS}/{name}/movie.npz" for name in videos()}
