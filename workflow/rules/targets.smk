# What `snakemake` makes when no target is named (rule all, in the Snakefile).


VIDEO_OUTPUTS = ["tagged.mp4", "predictions.csv", "predictions_dlc.csv"]


def run_targets(run):
    base = f"results/{run}"
    targets = [f"{base}/summary.md", f"{base}/training_curves.png"]
    targets += [f"{base}/eval/{name}/metrics.json" for name in evaluation_sets(run)]
    render = RUN_CONFIGS[run]["render"]
    for name in movies():
        targets.append(f"{base}/movies/{name}/qc.json")
        # a tracked video is shown tagged on the original video, not on its crop
        if render["video"] and name not in videos():
            targets.append(f"{base}/movies/{name}/tagged.mp4")
        if render["figures"]:
            targets += [f"{base}/movies/{name}/figures/{fig}" for fig in MOVIE_FIGURES]
        if RUN_CONFIGS[run]["nwb"]["enabled"]:
            targets.append(f"{base}/movies/{name}/poses.nwb")
    for name in videos():
        targets += [
            f"{base}/videos/{name}/{out}"
            for out in VIDEO_OUTPUTS
            if out != "tagged.mp4"
        ]
        if render["video"]:
            targets.append(f"{base}/videos/{name}/tagged.mp4")
        if render["figures"]:
            targets.append(f"{base}/videos/{name}/flags.png")
        targets.append(f"{VIDEOS}/{name}/track.png")
    return targets


def all_targets():
    targets = [verified(name) for name in labelled_sets()]
    for run in run_names():
        targets += run_targets(run)
    if len(base_runs()) > 1:
        targets += SWEEP_OUTPUTS
    if config["learning_curve"]["enabled"]:
        targets += learning_curve_targets()
    return targets
