# Movies: each is its own chain predict -> smooth + QC -> render / figures, so many movies
# fan out over cores or cluster nodes.


rule label_reference:
    input:
        data=checked(training_set()),
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
        data=data_file,
    shell:
        "direction-tagger qc-reference --labelled {params.data} --out {output} > {log} 2>&1"


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
    conda:
        "../../envs/train.yaml"
    threads: workflow.cores
    params:
        movie=movie_file,
        tta=predict_tta,
        batch_size=setting("predict", "batch_size"),
    shell:
        "direction-tagger predict --model {input.model} --movie {params.movie}"
        " --out {output.raw} --truth-metrics {output.truth} {params.tta}"
        " --batch-size {params.batch_size} > {log} 2>&1"


rule smooth_movie:
    input:
        raw=f"{RESULTS}/movies/{{movie}}/predictions_raw.csv",
        reference=f"{RESULTS}/label_reference.json",
    output:
        smooth=f"{RESULTS}/movies/{{movie}}/predictions.csv",
        dlc=f"{RESULTS}/movies/{{movie}}/predictions_dlc.csv",
        qc=f"{RESULTS}/movies/{{movie}}/qc.json",
    log:
        f"{LOGS}/smooth_{{movie}}.log",
    benchmark:
        f"{LOGS}/benchmarks/smooth_{{movie}}.tsv"
    conda:
        "../../envs/render.yaml"
    params:
        method=setting("smooth", "method"),
        window=setting("smooth", "window"),
        min_confidence=setting("smooth", "min_confidence"),
        max_gap=setting("smooth", "max_gap"),
    shell:
        "direction-tagger smooth --predictions {input.raw} --out {output.smooth}"
        " --method {params.method} --window {params.window}"
        " --min-confidence {params.min_confidence} --max-gap {params.max_gap}"
        " --reference {input.reference} --qc-json {output.qc} --dlc-csv {output.dlc}"
        " > {log} 2>&1"


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
    conda:
        "../../envs/render.yaml"
    params:
        movie=movie_file,
        scale=setting("render", "scale"),
        trail=setting("render", "trail"),
        panel=flag_setting("render", "panel", "panel"),
    shell:
        "direction-tagger render --movie {params.movie} --predictions {input.predictions}"
        " --out {output} --scale {params.scale} --trail {params.trail} {params.panel}"
        " > {log} 2>&1"


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
    conda:
        "../../envs/render.yaml"
    params:
        outdir=f"{RESULTS}/movies/{{movie}}/figures",
    shell:
        "direction-tagger movie-figures --predictions {input} --outdir {params.outdir}"
        " > {log} 2>&1"
