# Arena videos: track and crop -> (with track.recentre: cut again around the run's model's
# nose - tail base midpoint) -> (the movie chain, as the movie of the same name) -> the
# predictions back in video pixels -> the original video tagged.


include: "videos_inputs.smk"


rule track_video:
    input:
        video=video_path,
    output:
        movie=f"{VIDEOS}/{{video}}/movie.npz",
        table=f"{VIDEOS}/{{video}}/track.csv",
        qc=f"{VIDEOS}/{{video}}/track_qc.json",
        background=f"{VIDEOS}/{{video}}/background.npz",
        figure=report(
            f"{VIDEOS}/{{video}}/track.png",
            caption="../report/track.rst",
            category="Videos",
            subcategory="{video}",
        ),
    log:
        "logs/videos/track_{video}.log",
    benchmark:
        "logs/benchmarks/track_{video}.tsv"
    group:
        "movie"  # on a cluster, a video's chain is one job (see docs/slurm.md)
    conda:
        "../../envs/render.yaml"
    threads: 2  # ffmpeg decodes on one core while the tracker works on the other
    params:
        crop_side=config["track"]["crop_side"],
        crop_scale=config["track"]["crop_scale"],
        smooth_window=config["track"]["smooth_window"],
        polarity=config["track"]["polarity"],
        background_frames=config["track"]["background_frames"],
    script:
        "../scripts/track.py"


rule recentre_video:
    input:
        video=video_path,
        movie=f"{VIDEOS}/{{video}}/movie.npz",
        track=f"{VIDEOS}/{{video}}/track.csv",
        background=f"{VIDEOS}/{{video}}/background.npz",
        model=f"{RESULTS}/model.pt",
    output:
        movie=f"{RESULTS}/videos/{{video}}/movie.npz",
        table=f"{RESULTS}/videos/{{video}}/track.csv",
        background=f"{RESULTS}/videos/{{video}}/background.npz",
        summary=f"{RESULTS}/videos/{{video}}/recentre.json",
    log:
        f"{LOGS}/recentre_{{video}}.log",
    benchmark:
        f"{LOGS}/benchmarks/recentre_{{video}}.tsv"
    group:
        "movie"
    conda:
        "../../envs/train.yaml"
    threads: 2  # the model on both cores; then ffmpeg decodes beside the cutting
    params:
        batch_size=setting("predict", "batch_size"),
        passes=config["track"]["recentre_passes"],
    script:
        "../scripts/recentre.py"


rule video_predictions:
    input:
        predictions=f"{RESULTS}/movies/{{video}}/predictions.csv",
        dlc=f"{RESULTS}/movies/{{video}}/predictions_dlc.csv",
        track=video_track,
    output:
        table=f"{RESULTS}/videos/{{video}}/predictions.csv",
        dlc=f"{RESULTS}/videos/{{video}}/predictions_dlc.csv",
    log:
        f"{LOGS}/video_predictions_{{video}}.log",
    benchmark:
        f"{LOGS}/benchmarks/video_predictions_{{video}}.tsv"
    group:
        "movie"
    conda:
        "../../envs/render.yaml"
    script:
        "../scripts/to_video.py"


rule render_on_video:
    input:
        video=video_path,
        predictions=f"{RESULTS}/videos/{{video}}/predictions.csv",
    output:
        report(
            f"{RESULTS}/videos/{{video}}/tagged.mp4",
            caption="../report/tagged_original_video.rst",
            category="Videos",
            subcategory="{video}",
        ),
    log:
        f"{LOGS}/render_video_{{video}}.log",
    benchmark:
        f"{LOGS}/benchmarks/render_video_{{video}}.tsv"
    group:
        "movie"
    conda:
        "../../envs/render.yaml"
    params:
        view=setting("render", "video_view"),
        size=setting("render", "video_size"),
    script:
        "../scripts/render_video.py"


rule flag_map:
    input:
        predictions=f"{RESULTS}/videos/{{video}}/predictions.csv",
        background=f"{VIDEOS}/{{video}}/background.npz",
    output:
        report(
            f"{RESULTS}/videos/{{video}}/flags.png",
            caption="../report/flag_map.rst",
            category="Videos",
            subcategory="{video}",
        ),
    log:
        f"{LOGS}/flag_map_{{video}}.log",
    benchmark:
        f"{LOGS}/benchmarks/flag_map_{{video}}.tsv"
    group:
        "movie"
    conda:
        "../../envs/render.yaml"
    script:
        "../scripts/flag_map.py"
