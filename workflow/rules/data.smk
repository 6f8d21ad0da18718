# Labelled data and movies: synthesize or download, then verify before anything trains.


rule synth_labelled:
    output:
        data=f"{SYNTH}/{{part}}.npz",
        montage=report(
            f"{DATA}/synthetic_{{part}}_montage.png",
            caption="../report/synthetic_montage.rst",
            category="Data",
        ),
    log:
        "logs/data/synth_{part}.log",
    benchmark:
        "logs/benchmarks/synth_{part}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        frames=synth_frames,
        seed=synth_seed,
    shell:
        "direction-tagger synth labelled --n {params.frames} --seed {params.seed}"
        " --out {output.data} --montage {output.montage} > {log} 2>&1"


rule synth_movie:
    output:
        movie=f"{SYNTH}/movie_{{movie}}.npz",
        montage=f"{DATA}/synthetic_movie_{{movie}}_montage.png",
    log:
        "logs/data/synth_movie_{movie}.log",
    benchmark:
        "logs/benchmarks/synth_movie_{movie}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        frames=synthetic_movie_frames,
        seed=synthetic_movie_seed,
        fps=synthetic_movie_fps,
    shell:
        "direction-tagger synth movie --frames {params.frames} --seed {params.seed}"
        " --fps {params.fps} --out {output.movie} --montage {output.montage} > {log} 2>&1"


rule verify:
    input:
        data=labelled_path,
    output:
        summary=f"{DATA}/verify/{{dataset}}/summary.json",
        montage=report(
            f"{DATA}/verify/{{dataset}}/montage.png",
            caption="../report/verify_montage.rst",
            category="Data",
            subcategory="{dataset}",
        ),
        body_length=report(
            f"{DATA}/verify/{{dataset}}/plots/body_length.png",
            caption="../report/verify_plots.rst",
            category="Data",
            subcategory="{dataset}",
        ),
        heading=report(
            f"{DATA}/verify/{{dataset}}/plots/heading.png",
            caption="../report/verify_plots.rst",
            category="Data",
            subcategory="{dataset}",
        ),
    log:
        "logs/data/verify_{dataset}.log",
    benchmark:
        "logs/benchmarks/verify_{dataset}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        data=data_file,
        plots=f"{DATA}/verify/{{dataset}}/plots",
        expected=expected_frames,
    shell:
        "direction-tagger verify --data {params.data} --summary {output.summary}"
        " --montage {output.montage} --plots-dir {params.plots}"
        " --expected-n {params.expected} > {log} 2>&1"


rule download_published:
    output:
        "tagged_dataset/{published}.sha256",
    log:
        "logs/data/download_{published}.log",
    benchmark:
        "logs/benchmarks/download_{published}.tsv"
    retries: 1
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        source=published_source(),
        sha256=published_sha256(),
        file="tagged_dataset/{published}",
    shell:
        "direction-tagger download --source {params.source:q} --out {params.file}"
        " --member {wildcards.published} --sha256 {params.sha256:q} > {log} 2>&1"
