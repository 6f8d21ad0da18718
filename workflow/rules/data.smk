# Labelled data and movies: synthesize or download, then verify before anything trains.


include: "data_inputs.smk"


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
    script:
        "../scripts/synth_labelled.py"


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
        frames=synthetic_movie("frames"),
        seed=synthetic_movie("seed"),
        fps=synthetic_movie("fps", 30),
    script:
        "../scripts/synth_movie.py"


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
        data=file_of("data"),
        plots=f"{DATA}/verify/{{dataset}}/plots",
        expected=expected_frames,
    script:
        "../scripts/verify.py"


rule download_published:
    output:
        "tagged_dataset/{published}.sha256",
    log:
        "logs/data/download_{published}.log",
    benchmark:
        "logs/benchmarks/download_{published}.tsv"
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        source=config["data"]["published"]["url"],
        sha256=config["data"]["published"]["sha256"] or "",
        file="tagged_dataset/{published}",
    script:
        "../scripts/download.py"


rule import_dlc:
    input:
        dlc_labels,
    output:
        data=f"{DATA}/dlc/labelled.npz",
        summary=f"{DATA}/dlc/import.json",
    log:
        "logs/data/import_dlc.log",
    benchmark:
        "logs/benchmarks/import_dlc.tsv"
    conda:
        "../../envs/render.yaml"
    params:
        project=config["data"]["dlc"]["project"],
        head=config["data"]["dlc"]["head"],
        neck=config["data"]["dlc"]["neck"],
        base=config["data"]["dlc"]["base"],
        crop_scale=config["track"]["crop_scale"],
        polarity=config["track"]["polarity"],
    script:
        "../scripts/import_dlc.py"
