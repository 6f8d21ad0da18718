# A short summary of the run: what was trained, how accurate, how the movies look.


rule summary:
    input:
        model=f"{RESULTS}/model.pt",
        train_log=f"{RESULTS}/training_log.csv",
        metrics=expand(f"{RESULTS}/eval/{{evalset}}/metrics.json", evalset=evaluation_sets()),
        qc=expand(f"{RESULTS}/movies/{{movie}}/qc.json", movie=movies()),
    output:
        markdown=report(
            f"{RESULTS}/summary.md", caption="../report/summary.rst", category="Summary"
        ),
        json=f"{RESULTS}/summary.json",
    params:
        run=RUN,
        metrics=summary_pairs("eval/{}/metrics.json", evaluation_sets()),
        qc=summary_pairs("movies/{}/qc.json", movies()),
    log:
        f"logs/{RUN}/summary.log",
    benchmark:
        f"logs/{RUN}/benchmarks/summary.tsv"
    localrule: True
    conda:
        "../../envs/train.yaml"
    shell:
        "direction-tagger summary --run {params.run} --model {input.model}"
        " --train-log {input.train_log} --metrics {params.metrics} --movie-qc {params.qc}"
        " --out {output.markdown} --json {output.json} > {log} 2>&1"
