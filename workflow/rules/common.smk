# Helpers shared by the rules: paths, input functions, params. No lambdas inside rules.
import glob
import json
import os
import re
import sys
from pathlib import Path

# Rules call the `direction-tagger` command of the environment running Snakemake (a conda
# env activated by --use-conda still comes first on PATH).
os.environ["PATH"] = (
    os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
)
# envs/*.yaml install this checkout into each conda env (pip: -e ${DIRECTION_TAGGER_ROOT});
# conda provides the dependencies, so pip must not fetch them from PyPI.
os.environ.setdefault("DIRECTION_TAGGER_ROOT", workflow.basedir)
os.environ.setdefault("PIP_NO_DEPS", "1")

RESULTS = "results/{run}"  # one folder per run; `runs:` in the config makes a sweep
LOGS = "logs/{run}"
DATA = "results/data"
SYNTH = "tagged_dataset/synthetic"
LEARNING_CURVE_FILES = ["learning_curve.csv", "learning_curve.png", "learning_curve.md"]
MOVIE_FIGURES = [
    "direction_traces.png",
    "trajectory.png",
    "heading_polar.png",
    "qc_timeline.png",
]


# --- runs (a sweep is several runs, each the base config plus its overrides) ------------
PER_RUN_SECTIONS = ("split", "train", "evaluate", "predict", "smooth", "render")


def merged(base, overrides):
    out = dict(base)
    for key, value in overrides.items():
        out[key] = (
            merged(base[key], value)
            if isinstance(value, dict) and isinstance(base.get(key), dict)
            else value
        )
    return out


def run_names():
    return list(config["runs"]) or [config["run"]]


RUN_CONFIGS = {}
for _name in run_names():
    RUN_CONFIGS[_name] = merged(config, config["runs"].get(_name, {}))
    RUN_CONFIGS[_name]["runs"] = {}
    if problem := first_config_error(
        RUN_CONFIGS[_name], f"{workflow.basedir}/config/schema.yaml"
    ):
        raise WorkflowError(
            f"runs.{_name}: {problem}"
        )  # a typo in an override names itself


def run_config(wildcards):
    return RUN_CONFIGS[wildcards.run]


def setting(section, key):
    """A param function reading one value of this run's config (so only it triggers re-runs)."""

    def value(wildcards):
        return run_config(wildcards)[section][key]

    return value


def flag_setting(section, key, name):
    def value(wildcards):
        return f"--{name}" if run_config(wildcards)[section][key] else ""

    return value


def predict_tta(wildcards):
    value = run_config(wildcards)["predict"]["tta"]
    n = 8 if value is True else int(value)
    return f"--tta {n}" if n > 1 else ""


def as_json(value):
    """A config section as one compact JSON string: a stable param for staleness checks."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- labelled data ---------------------------------------------------------------------
# A published file is represented in the DAG by its checksum sidecar `<file>.sha256`, which
# the download step writes after checking the file, so a file the user put into tagged_dataset/
# is then checked too (never trusted, never deleted), and rules read the file beside it.


def published_files():
    if config["data"]["source"] != "published":
        return {}
    pub = config["data"]["published"]
    return {
        f"tagged_dataset/{pub['labelled_file']}",
        f"tagged_dataset/{pub['movie_file']}",
    }


def checked(path):
    """The DAG node standing for a data file: its sidecar if it is downloaded."""
    return f"{path}.sha256" if path in published_files() else path


def data_file(wildcards, input):
    """The data file itself, for the shell command (input.data may be its sidecar)."""
    return str(input.data).removesuffix(".sha256")


def movie_file(wildcards, input):
    return str(input.movie).removesuffix(".sha256")


def published_source():
    return config["data"]["published"]["url"]


def published_sha256():
    return config["data"]["published"]["sha256"] or ""


def source_labelled():
    """The labelled set as it arrives: synthetic, downloaded, or the user's own file."""
    source = config["data"]["source"]
    if source == "synthetic":
        return f"{SYNTH}/train.npz"
    if source == "file":
        path = config["data"].get("file")
        if not path:
            raise ValueError(
                "config data.file: set it to your labelled .npz when data.source is 'file'"
            )
        return path
    return f"tagged_dataset/{config['data']['published']['labelled_file']}"


def training_set():
    """What training reads: the source set, or our re-augmentation of its recovered originals."""
    if config["originals"]["augment"]["enabled"]:
        return f"{DATA}/augmented.npz"
    return source_labelled()


def labelled_sets():
    """Every labelled set the workflow verifies, name -> path."""
    sets = {"training": source_labelled()}
    if config["data"]["source"] == "synthetic":
        sets["synthetic_test"] = f"{SYNTH}/test.npz"
    sets.update(config["evaluate"]["sets"])
    return sets


def labelled_path(wildcards):
    return checked(labelled_sets()[wildcards.dataset])


def verified(name):
    return f"{DATA}/verify/{name}/summary.json"


def synth_frames(wildcards):
    key = "train_frames" if wildcards.part == "train" else "test_frames"
    return config["data"]["synthetic"][key]


def synth_seed(wildcards):
    return config["data"]["synthetic"]["seed"] + (0 if wildcards.part == "train" else 1)


def expected_frames(wildcards):
    if wildcards.dataset == "training" and config["data"]["source"] == "published":
        return config["data"]["published"]["expected_frames"] or 0
    return 0


# --- split -----------------------------------------------------------------------------


def split_groups_input(wildcards):
    """Groups for the split: recovered originals of the downloaded set (when training reads
    it); our re-augmented set carries its own `groups` key; else group_key or one per frame.
    """
    if (
        run_config(wildcards)["split"]["group_key"] is None
        and config["originals"]["recover"]
    ):
        if not config["originals"]["augment"]["enabled"]:
            return {"groups": f"{DATA}/originals_groups.npz"}
    return {}


def split_group_args(wildcards, input):
    if "groups" in input.keys():
        return f"--groups {input.groups}"
    group_key = run_config(wildcards)["split"]["group_key"]
    if group_key:
        return f"--group-key {group_key}"
    if config["originals"]["augment"]["enabled"]:
        return "--group-key groups"  # written by `direction-tagger augment`
    return "--group-key frame"  # independent frames (synthetic); leaky for augmented copies


def split_fractions(wildcards):
    s = run_config(wildcards)["split"]
    return f"{s['train']},{s['val']},{s['test']}"


def originals_input(wildcards):
    """What an "original" is, for the learning curve: the copy groups `recover` found when
    training reads the downloaded set; our re-augmented set names them itself (original_index);
    else every frame is one (the user's own file, synthetic data)."""
    if config["originals"]["recover"] and not config["originals"]["augment"]["enabled"]:
        return {"groups": f"{DATA}/originals_groups.npz"}
    return {}


def originals_args(wildcards, input):
    if "groups" in input.keys():
        return f"--groups {input.groups}"
    if config["originals"]["augment"]["enabled"]:
        # not `groups`: that key may hold the originals' own groups (e.g. video), coarser
        return "--group-key original_index"
    return "--group-key frame"


# --- evaluation sets -------------------------------------------------------------------


def evaluation_sets(run):
    """name -> (labelled path, subset of the split or None) for one run."""
    sets = {}
    if RUN_CONFIGS[run]["split"]["test"] > 0:
        sets["heldout"] = (training_set(), "test")
    for name, path in labelled_sets().items():
        if name != "training":
            sets[name] = (path, None)
    return sets


def eval_data(wildcards):
    return checked(evaluation_sets(wildcards.run)[wildcards.evalset][0])


def eval_split_args(wildcards, input):
    subset = evaluation_sets(wildcards.run)[wildcards.evalset][1]
    return f"--split {input.split} --subset {subset}" if subset else ""


# --- movies ----------------------------------------------------------------------------


def expand_movie_entry(name, path):
    """One config entry -> {movie name: path}. A folder or a glob pattern stands for every
    .npz it holds, each named `<entry>_<file stem>` (characters outside [A-Za-z0-9_.-] -> _).
    """
    if os.path.isdir(path):
        path = os.path.join(path, "*.npz")
    if not glob.has_magic(path):
        return {name: path}
    return {
        f"{name}_{re.sub(r'[^A-Za-z0-9_.-]', '_', Path(found).stem)}": found
        for found in sorted(glob.glob(path))
    }


def movies():
    """Every movie to tag, name -> .npz path (synthetic movies are rendered first)."""
    found = {name: f"{SYNTH}/movie_{name}.npz" for name in config["synthetic_movies"]}
    for name, path in config["movies"].items():
        found.update(expand_movie_entry(name, path))
    return found


def movie_path(wildcards):
    return checked(movies()[wildcards.movie])


def synthetic_movie_frames(wildcards):
    return config["synthetic_movies"][wildcards.movie]["frames"]


def synthetic_movie_seed(wildcards):
    return config["synthetic_movies"][wildcards.movie]["seed"]


def synthetic_movie_fps(wildcards):
    return config["synthetic_movies"][wildcards.movie].get("fps", 30)


# --- targets ---------------------------------------------------------------------------


def run_targets(run):
    base = f"results/{run}"
    targets = [f"{base}/summary.md", f"{base}/training_curves.png"]
    targets += [f"{base}/eval/{name}/metrics.json" for name in evaluation_sets(run)]
    for name in movies():
        targets.append(f"{base}/movies/{name}/tagged.mp4")
        targets += [f"{base}/movies/{name}/figures/{fig}" for fig in MOVIE_FIGURES]
    return targets


def all_targets():
    targets = [verified(name) for name in labelled_sets()]
    for run in run_names():
        targets += run_targets(run)
    if len(run_names()) > 1:
        targets += SWEEP_OUTPUTS
    if config["learning_curve"]["enabled"]:
        targets += learning_curve_targets()
    return targets


def learning_curve_targets():
    """The learning curve of every run (`snakemake learning_curve`)."""
    return [
        f"results/{run}/learning_curve/{name}"
        for run in run_names()
        for name in LEARNING_CURVE_FILES
    ]


def augment_options(wildcards):
    """The augment command's flags; a size of 0 switches that factor off."""
    a = config["originals"]["augment"]
    options = [f"--seed {a['seed']}"]
    options += [f"--no-{name}" for name in ("rot90", "vflip") if not a[name]]
    for name, switch in (
        ("pixel_noise_sigma", "pixel-noise"),
        ("pixel_shift_px", "pixel-shift"),
        ("label_noise_sigma", "label-noise"),
    ):
        if a[name]:
            options.append(f"--{name.replace('_', '-')} {a[name]}")
        else:
            options.append(f"--no-{switch}")
    return " ".join(options)


def train_options(wildcards):
    """This run's training options as one JSON param."""
    return as_json(run_config(wildcards)["train"])


def summary_metrics(wildcards):
    return {
        n: f"results/{wildcards.run}/eval/{n}/metrics.json"
        for n in evaluation_sets(wildcards.run)
    }


def summary_qc(wildcards):
    return {n: f"results/{wildcards.run}/movies/{n}/qc.json" for n in movies()}


def pairs(mapping):
    return " ".join(f"{name}={path}" for name, path in mapping.items())


def summary_inputs(wildcards):
    files = {f"metrics_{n}": p for n, p in summary_metrics(wildcards).items()}
    return files | {f"qc_{n}": p for n, p in summary_qc(wildcards).items()}


def summary_metrics_arg(wildcards):
    return pairs(summary_metrics(wildcards))


def summary_qc_arg(wildcards):
    return pairs(summary_qc(wildcards))


# --- sweeps ----------------------------------------------------------------------------
SWEEP = "results/sweep"
SWEEP_OUTPUTS = [
    f"{SWEEP}/runs.csv",
    f"{SWEEP}/variants.csv",
    f"{SWEEP}/comparison.png",
]


def sweep_summaries():
    return {run: f"results/{run}/summary.json" for run in run_names()}


def sweep_evalset():
    """Runs are compared on the first evaluation set of the first run (none: no comparison)."""
    return next(iter(evaluation_sets(run_names()[0])), "none")


# --- learning curve (workflow/rules/learning_curve.smk) ---------------------------------
LC_POINT = f"{RESULTS}/learning_curve/n{{lc_count}}_s{{lc_seed}}"
LC_LOGS = f"{LOGS}/learning_curve/n{{lc_count}}_s{{lc_seed}}"


# A target naming the learning curve: the target rule, one of its rules, or one of its files.
LEARNING_CURVE_TARGET = re.compile(
    r"learning_curve(_\w+)?|(.*/)?results/[^/]+/learning_curve/.*"
)


def learning_curve_requested():
    """Enabled (so part of `rule all`), or named as a target on the command line."""
    # Snakemake hands its targets to the workflow only after parsing it, so the command line
    # is read here (whole tokens only: a --directory named after the curve is not a target).
    named = any(LEARNING_CURVE_TARGET.fullmatch(arg) for arg in sys.argv[1:])
    return config["learning_curve"]["enabled"] or named


def check_learning_curve_runs():
    """Every point is measured on the run's test part: without one there is no curve."""
    for run in run_names():
        if RUN_CONFIGS[run]["split"]["test"] <= 0:
            raise WorkflowError(
                f"learning_curve needs test recordings: run '{run}' has split.test 0; set "
                "split.test > 0 (e.g. 0.1) so every subset is tested on the same held-out frames"
            )


def learning_curve_points(wildcards, name):
    lc = config["learning_curve"]
    return [
        f"results/{wildcards.run}/learning_curve/n{count}_s{seed}/{name}"
        for count in lc["counts"]
        for seed in lc["seeds"]
    ]


def learning_curve_splits(wildcards):
    return learning_curve_points(wildcards, "split.json")


def learning_curve_metrics(wildcards):
    return learning_curve_points(wildcards, "metrics.json")


def learning_curve_train_options(wildcards):
    """The run's training options, with this point's seed (its subset's seed too)."""
    return as_json(run_config(wildcards)["train"] | {"seed": int(wildcards.lc_seed)})
