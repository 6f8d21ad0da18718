# Input and param functions of the rules in report.smk (which includes this file).
SWEEP = "results/sweep"
SWEEP_OUTPUTS = [
    f"{SWEEP}/runs.csv",
    f"{SWEEP}/variants.csv",
    f"{SWEEP}/comparison.png",
]


def summary_metrics(wildcards):
    return {
        n: f"results/{wildcards.run}/eval/{n}/metrics.json"
        for n in evaluation_sets(wildcards.run)
    }


def summary_qc(wildcards):
    return {n: f"results/{wildcards.run}/movies/{n}/qc.json" for n in movies()}


def summary_inputs(wildcards):
    files = {f"metrics_{n}": p for n, p in summary_metrics(wildcards).items()}
    return files | {f"qc_{n}": p for n, p in summary_qc(wildcards).items()}


def summary_before(wildcards):
    """A refined run's summary shows the run it was refined from, before / after."""
    base = run_config(wildcards).get("refined_from")
    return {"before": f"results/{base}/summary.json"} if base else {}


def pairs(mapping):
    """NAME=PATH arguments, as the summary and compare commands take them."""
    return [f"{name}={path}" for name, path in mapping.items()]


def summary_metrics_arg(wildcards):
    return pairs(summary_metrics(wildcards))


def summary_qc_arg(wildcards):
    return pairs(summary_qc(wildcards))


def sweep_summaries():
    return {run: f"results/{run}/summary.json" for run in base_runs()}


def sweep_evalset():
    """Runs are compared on the first evaluation set of the first run (none: no comparison)."""
    return next(iter(evaluation_sets(base_runs()[0])), "none")
