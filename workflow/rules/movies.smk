# Movies: each is its own chain predict -> smooth + QC -> render / figures, so many movies
# fan out over cores or cluster nodes. On a cluster a movie's chain is one job (group
# "movie"; --group-components movie=N packs N movies into one). With movies_per_job > 1,
# predict -> smooth + QC of N movies is one job, one process (tag_movies_<batch>).


include: "movies_inputs.smk"


rule label_reference:
    input:
        data=run_data,
    output:
        f"{RESULTS}/label_reference.json",
    log:
        f"{LOGS}/label_reference.log",
    benchmark:
        f"{LOGS}/benchmarks/label_reference.tsv"
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        data=file_of("data"),
    script:
        "../scripts/qc_reference.py"


if not MOVIE_BATCHES:  # a job per movie

    rule predict_movie:
        input:
            model=f"{RESULTS}/model.pt",
            movie=movie_path,
        output:
            raw=f"{RESULTS}/movies/{{movie}}/predictions_raw.csv",
            truth=f"{RESULTS}/movies/{{movie}}/ground_truth_metrics.json",
        log:
            f"{LOGS}/predict_{{movie}}.log",
        benchmark:
            f"{LOGS}/benchmarks/predict_{{movie}}.tsv"
        group:
            "movie"
        conda:
            "../../envs/train.yaml"
        threads: 2  # movies fan out over the cores; more per movie: --set-threads predict_movie=8
        params:
            movie=file_of("movie"),
            tta=tta_setting("predict"),
            batch_size=setting("predict", "batch_size"),
        script:
            "../scripts/predict.py"

    rule smooth_movie:
        input:
            unpack(tracked_files_of_movie),
            raw=f"{RESULTS}/movies/{{movie}}/predictions_raw.csv",
            reference=f"{RESULTS}/label_reference.json",
            calibration=calibration_for("predict"),
        output:
            smooth=f"{RESULTS}/movies/{{movie}}/predictions.csv",
            dlc=f"{RESULTS}/movies/{{movie}}/predictions_dlc.csv",
            qc=f"{RESULTS}/movies/{{movie}}/qc.json",
        log:
            f"{LOGS}/smooth_{{movie}}.log",
        benchmark:
            f"{LOGS}/benchmarks/smooth_{{movie}}.tsv"
        group:
            "movie"
        conda:
            "../../envs/render.yaml"
        params:
            method=setting("smooth", "method"),
            window=setting("smooth", "window"),
            min_confidence=setting("smooth", "min_confidence"),
            max_gap=setting("smooth", "max_gap"),
            polarity=setting("smooth", "polarity"),
            flag_risk=setting("smooth", "flag_risk"),
            unfamiliar=setting("smooth", "unfamiliar"),
        script:
            "../scripts/smooth.py"


for run, batch, names in (
    (run, batch, names) for run in run_names() for batch, names in MOVIE_BATCHES.items()
):

    rule:
        name:
            f"tag_movies_{run}_{batch}"
        input:
            model=f"results/{run}/model.pt",
            movies=batch_inputs(run, names),
            reference=f"results/{run}/label_reference.json",
            calibration=batch_calibration(run),
        output:
            raw=batch_outputs(run, names, "raw"),
            truth=batch_outputs(run, names, "truth"),
            smooth=batch_outputs(run, names, "smooth"),
            dlc=batch_outputs(run, names, "dlc"),
            qc=batch_outputs(run, names, "qc"),
        log:
            f"logs/{run}/tag_movies_{batch}.log",
        benchmark:
            f"logs/{run}/benchmarks/tag_movies_{batch}.tsv"
        group:
            "movie"
        conda:
            "../../envs/train.yaml"
        threads: 2
        params:
            movies=batch_movie_files,
            outdirs=[f"results/{run}/movies/{name}" for name in names],
            tta=tta_count(RUN_CONFIGS[run]["predict"]["tta"]),
            predict=RUN_CONFIGS[run]["predict"],
            smooth=RUN_CONFIGS[run]["smooth"],
        script:
            "../scripts/tag_movies.py"


rule render_movie:
    input:
        movie=movie_path,
        predictions=f"{RESULTS}/movies/{{movie}}/predictions.csv",
    output:
        report(
            f"{RESULTS}/movies/{{movie}}/tagged.mp4",
            caption="../report/tagged_video.rst",
            category="Movies",
            subcategory="{movie}",
        ),
    log:
        f"{LOGS}/render_{{movie}}.log",
    benchmark:
        f"{LOGS}/benchmarks/render_{{movie}}.tsv"
    group:
        "movie"
    conda:
        "../../envs/render.yaml"
    params:
        movie=file_of("movie"),
        scale=setting("render", "scale"),
        trail=setting("render", "trail"),
        panel=setting("render", "panel"),
    script:
        "../scripts/render.py"


rule movie_figures:
    input:
        f"{RESULTS}/movies/{{movie}}/predictions.csv",
    output:
        report(
            expand(
                "results/{{run}}/movies/{{movie}}/figures/{name}", name=MOVIE_FIGURES
            ),
            caption="../report/movie_figures.rst",
            category="Movies",
            subcategory="{movie}",
        ),
    log:
        f"{LOGS}/movie_figures_{{movie}}.log",
    benchmark:
        f"{LOGS}/benchmarks/movie_figures_{{movie}}.tsv"
    group:
        "movie"
    conda:
        "../../envs/render.yaml"
    params:
        outdir=f"{RESULTS}/movies/{{movie}}/figures",
    script:
        "../scripts/movie_figures.py"


rule movie_nwb:
    input:
        table=nwb_table,
        model=f"{RESULTS}/model.pt",
    output:
        nwb=f"{RESULTS}/movies/{{movie}}/poses.nwb",
    log:
        f"{LOGS}/nwb_{{movie}}.log",
    benchmark:
        f"{LOGS}/benchmarks/nwb_{{movie}}.tsv"
    group:
        "movie"
    conda:
        "../../envs/nwb.yaml"
    params:
        source=nwb_source,
        subject=nwb_setting("subject_id"),
        species=nwb_setting("species"),
        age=nwb_setting("age"),
    script:
        "../scripts/to_nwb.py"
