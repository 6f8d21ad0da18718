"""What the workflow decides from its config: checked, split into runs, groups, movie names.

The Snakefile reads these while it plans (so they import nothing heavy); they are plain
functions of the config, tested in tests/test_config.py.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

PER_RUN_SECTIONS = ("split", "train", "evaluate", "predict", "smooth", "render", "nwb")
NAME = r"[A-Za-z0-9_.-]+"  # run and movie names: they become folder names


class ConfigError(ValueError):
    """A config value that cannot work, in one line naming its key."""


def first_config_error(cfg: dict, schema_file) -> str | None:
    """One line naming the offending key, instead of the validator's whole schema dump."""
    import jsonschema
    import yaml

    with open(schema_file) as f:
        schema = yaml.safe_load(f)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(cfg))
    if not errors:
        return None
    error = jsonschema.exceptions.best_match(errors)
    where = ".".join(str(p) for p in error.absolute_path) or "top level"
    hint = ""
    if where.endswith("train") and "'epochs'" in error.message:
        hint = " (training length is now train.steps (or automatic), see config/schema.yaml)"
    return f"config error at {where}: {error.message}{hint}"


# --- runs (a sweep is several runs, each the base config plus its overrides) ------------


def merged(base: dict, overrides: dict) -> dict:
    """`base` with `overrides` laid over it, nested sections merged key by key."""
    out = dict(base)
    for key, value in overrides.items():
        out[key] = (
            merged(base[key], value)
            if isinstance(value, dict) and isinstance(base.get(key), dict)
            else value
        )
    return out


def run_configs(config: dict, schema_file) -> dict[str, dict]:
    """run name -> its whole config: `runs:` entries over the base config, or the one `run`."""
    names = list(config["runs"]) or [config["run"]]
    runs = {}
    for name in names:
        if not re.fullmatch(NAME, str(name)):
            raise ConfigError(
                f"run name '{name}': use only letters, digits, _ . - (it names a folder)"
            )
        if str(name) == PRETRAINED_FOLDER:
            raise ConfigError(
                f"run name '{name}': results/{PRETRAINED_FOLDER}/ holds the pretrained start "
                "models; choose another name"
            )
        runs[name] = merged(config, config["runs"].get(name) or {}) | {"runs": {}}
        if problem := first_config_error(runs[name], schema_file):
            raise ConfigError(f"runs.{name}: {problem}")  # a typo in an override names itself
        try:
            start_model(runs[name]["train"])
        except ConfigError as err:
            raise ConfigError(f"runs.{name}: {err}" if config["runs"] else str(err)) from None
    return runs


REFINED = "_refined"  # the run fine-tuned on the corrected frames: results/{run}_refined/


def refined_runs(config: dict, runs: dict[str, dict]) -> dict[str, dict]:
    """refined run name -> its config, one per run, when `refine.labels` is given: the run's
    config with the fine-tuning budget `refine.steps` (null: the train command's share of
    the run's budget) and `refined_from` naming the run."""
    if not config["refine"]["labels"]:
        return {}
    refined = {}
    for name, run in runs.items():
        new = f"{name}{REFINED}"
        if new in runs:
            raise ConfigError(
                f"run name '{new}': taken by refining run '{name}' (refine.labels is set); "
                "rename the run"
            )
        train = run["train"] | {"steps": config["refine"]["steps"]}
        refined[new] = run | {"train": train, "refined_from": name}
    return refined


# --- where training starts (train.init) ---------------------------------------------------

PRETRAINED_FOLDER = "pretrained"  # results/pretrained/{architecture}/model.pt


def pretrained_model(architecture: str) -> str:
    """The workflow's pretrained start model of an architecture (rule pretrain)."""
    return f"results/{PRETRAINED_FOLDER}/{architecture}/model.pt"


def start_model(train: dict) -> str | None:
    """The model file a run's training starts from: None from scratch, the architecture's
    pretrained model, or the path given. A path that is no file, or pretrained with other
    widths than the architecture's own (the pretrained model has those), is a ConfigError."""
    init = train["init"]
    if init == "scratch":
        return None
    if init == "pretrained":
        if train.get("arch_kwargs"):
            raise ConfigError(
                f"train.init: pretrained models have {train['architecture']}'s own widths, not "
                f"train.arch_kwargs {train['arch_kwargs']}: drop arch_kwargs or set train.init: "
                "scratch"
            )
        return pretrained_model(train["architecture"])
    if not Path(init).is_file():
        raise ConfigError(
            f"train.init: no model file at '{init}' (expected pretrained, scratch or the path "
            "of a model.pt)"
        )
    return init


# --- groups: what must never be on two sides of a split -----------------------------------


def split_groups(config: dict, run_config: dict) -> tuple[str, str | None]:
    """How the split groups frames: ("file", None) = the copy groups `recover` found in the
    downloaded set; ("key", name) = a key of the training set ("frame": one frame each)."""
    group_key = run_config["split"]["group_key"]
    if group_key:
        return "key", group_key
    if config["originals"]["augment"]["enabled"]:
        return "key", "groups"  # written by `direction-tagger augment`
    if config["originals"]["recover"]:
        return "file", None
    if config["data"]["source"] == "dlc":
        return "key", "video"  # the recording each imported frame comes from
    return "key", "frame"  # independent frames (synthetic); leaky for augmented copies


def original_groups(config: dict) -> tuple[str, str | None]:
    """What an "original" is, for the learning curve: the copy groups `recover` found when
    training reads the downloaded set; our re-augmented set names them itself
    (`original_index`, not `groups`: that key may hold coarser groups, e.g. video); else every
    frame is one (the user's own file, synthetic data)."""
    if config["originals"]["augment"]["enabled"]:
        return "key", "original_index"
    if config["originals"]["recover"]:
        return "file", None
    return "key", "frame"


# --- movies -----------------------------------------------------------------------------


VIDEO_SUFFIXES = (
    *(".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm"),
    *(".flv", ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".h264"),
)


def expand_movie_entry(
    name: str, path: str, suffixes: tuple[str, ...] = (".npz",), section: str = "movies"
) -> dict[str, str]:
    """One `movies:` (or `videos:`) entry -> {name: path}. A folder or a glob pattern stands
    for every file with one of `suffixes` it holds, each named `<entry>_<file stem>`
    (characters outside [A-Za-z0-9_.-] -> _). Refused when planned, not hours later: a
    folder or pattern with no such file, a named file of another kind, two files whose names
    become one."""
    where = f"{section}.{name}"
    if not re.fullmatch(NAME, name):
        raise ConfigError(f"{where}: a name may hold only letters, digits, _ . -")
    kinds = " ".join(suffixes)
    if os.path.isdir(path):
        pattern, said = os.path.join(glob.escape(path), "*"), f"the folder {path}"
    elif glob.has_magic(path):
        pattern, said = path, f"the pattern {path}"
    else:
        if Path(path).suffix.lower() not in suffixes:
            raise ConfigError(f"{where}: {path} is not a {kinds} file")
        return {name: path}
    found: dict[str, str] = {}
    for file in sorted(glob.glob(pattern)):
        if Path(file).suffix.lower() not in suffixes or not os.path.isfile(file):
            continue  # a folder named like a video is not one
        entry = f"{name}_{re.sub(r'[^A-Za-z0-9_.-]', '_', Path(file).stem)}"
        if entry in found:
            raise ConfigError(
                f"{where}: {found[entry]} and {file} would both be named {entry!r}; rename "
                "one, or list them as entries of their own"
            )
        found[entry] = file
    if not found:
        raise ConfigError(f"{where}: {said} holds no {kinds} file")
    return found


def expand_entries(
    entries: dict[str, str],
    suffixes: tuple[str, ...] = (".npz",),
    section: str = "movies",
    taken: dict[str, str] | None = None,
) -> dict[str, str]:
    """Every entry of `movies:` (or `videos:`) expanded, after the movies already `taken`
    (synthetic ones); two that name one movie are refused (one would silently replace the
    other)."""
    found: dict[str, str] = dict(taken or {})
    for name, path in entries.items():
        for entry, file in expand_movie_entry(name, path, suffixes, section).items():
            if entry in found:
                raise ConfigError(
                    f"{section}.{name}: {file} would be named {entry!r}, as {found[entry]} "
                    "already is; rename one of them"
                )
            found[entry] = file
    return found


def check_crop_side(crop_side: float | None, videos: dict[str, str]) -> None:
    """A `track.crop_side` every video allows (at most twice its longer side), checked when
    the workflow is planned; the videos' sizes are read only when a side is set."""
    if crop_side is None:
        return
    from .io import DataError
    from .videos.reader import video_info
    from .videos.track import check_crop_side as check_one

    for name, path in videos.items():
        if not os.path.isfile(path):
            continue  # made by the workflow, or missing: snakemake says which
        try:
            info = video_info(path)
            check_one(crop_side, info.width, info.height, path, "track.crop_side")
        except DataError as err:
            raise ConfigError(f"videos.{name}: {err}") from None


def movies_and_videos(movies: dict[str, str], videos: dict[str, str]) -> None:
    """A tracked video becomes a movie of the same name: the two must not share one."""
    if shared := sorted(set(movies) & set(videos)):
        raise ConfigError(
            f"movies and videos share the name {shared[0]!r}; a tracked video becomes the "
            "movie of its name, so give one of them another"
        )


from .movies.files import MOVIE_FILES  # noqa: E402,F401  (the workflow reads it here)

TRACKED_FILES = {"movie": "npz", "track": "csv", "background": "npz"}


def tracked_video_files(run: str, name: str, recentre: bool) -> dict[str, str]:
    """Where run `run` finds tracked video `name`'s movie and track table: the tracker's, shared
    by every run (results/videos/<name>/), or with `track.recentre` the run's own cut, made
    around its model's nose - tail base midpoints (results/<run>/videos/<name>/), which
    holds a copy of the tracker's background: each folder has all that smoothing needs, and
    `tag-movies` (movies_per_job > 1) finds it beside the movie."""
    folder = f"results/{run}/videos/{name}" if recentre else f"results/videos/{name}"
    return {key: f"{folder}/{key}.{ext}" for key, ext in TRACKED_FILES.items()}


def movie_batches(names, per_job: int) -> dict[str, list[str]]:
    """Movies tagged together in one job (predict -> smooth + QC, the model loaded once):
    name -> movie names, `per_job` at a time in name order, so adding movies whose names
    sort last re-runs only the last batch. Empty when `per_job` is 1 (a job per movie)."""
    if per_job <= 1:
        return {}
    names = sorted(names)
    width = len(str(max(0, (len(names) - 1) // per_job)))
    return {
        f"batch{k // per_job:0{width}d}": names[k : k + per_job]
        for k in range(0, len(names), per_job)
    }


def tta_count(value: bool | int) -> int:
    """A config `tta` (true = all 8 dihedral transforms, false = none, or a count) as a count."""
    if value is True:
        return 8
    return int(value or 0)
