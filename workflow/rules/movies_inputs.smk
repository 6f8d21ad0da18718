# Input and param functions of the rules in movies.smk (which includes this file).
MOVIE_FIGURES = [
    "direction_traces.png",
    "trajectory.png",
    "heading_polar.png",
    "qc_timeline.png",
]


def movie_file(name):
    """The DAG node of a movie's frames: the one place that finds them."""
    return checked(movies()[name])


def run_movie(run, name):
    """The frames run `run` tags for a movie: a tracked video's are the tracker's or, with
    track.recentre, the run's own re-cut (direction_tagger.config.tracked_video_files).
    """
    if name in videos():
        return tracked_video_files(run, name, config["track"]["recentre"])["movie"]
    return movie_file(name)


def movie_path(wildcards):
    return run_movie(wildcards.run, wildcards.movie)


def tracked_files_of_movie(wildcards):
    """A tracked video's track table (its tail roots and travel inform polarity), movie and
    background (keypoints off the animal); none for other movies."""
    if wildcards.movie not in videos():
        return {}
    return tracked_video_files(
        wildcards.run, wildcards.movie, config["track"]["recentre"]
    )


# movies_per_job > 1: batch name -> movie names, each batch one tag_movies_<batch> job
MOVIE_BATCHES = movie_batches(movies(), config["movies_per_job"])


def batch_inputs(run, names):
    return [run_movie(run, name) for name in names]


def batch_outputs(run, names, key):
    """Literal paths (no wildcard): Snakemake finds a literal output's rule by its index at
    once, where a wildcard output would be tested against every file of every batch."""
    return [f"results/{run}/movies/{name}/{MOVIE_FILES[key]}" for name in names]


def batch_movie_files(wildcards, input):
    """A batch's movie files as its script passes them (a sidecar stands for its file)."""
    return [str(p).removesuffix(".sha256") for p in input.movies]


def batch_calibration(run):
    tta = tta_count(RUN_CONFIGS[run]["predict"]["tta"])
    return f"results/{run}/calibration/tta{tta}.json"


def nwb_table(wildcards):
    """A tracked video's NWB is in video px (its to-video table), a movie's in crop px."""
    if wildcards.movie in videos():
        return f"results/{wildcards.run}/videos/{wildcards.movie}/predictions.csv"
    return f"results/{wildcards.run}/movies/{wildcards.movie}/predictions.csv"


def nwb_source(wildcards):
    name = wildcards.movie
    return videos()[name] if name in videos() else movies()[name]


def nwb_setting(key):
    def value(wildcards):
        return run_config(wildcards)["nwb"][key]

    return value
