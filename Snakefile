# direction-tagger: find tail base, neck and nose of a rat in 50x50 frames.
#
#   snakemake --cores all                                 # published data (config/config.yaml)
#   snakemake --cores all --configfile config/demo.yaml   # synthetic demo, minutes on a laptop
#
# A --configfile given on the command line replaces config/config.yaml (it is not merged
# into it); --config key=value edits either.

from snakemake.utils import min_version, validate

min_version("8.0")


if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/config_check.smk"


if problem := first_config_error(config, f"{workflow.basedir}/config/schema.yaml"):
    raise WorkflowError(problem)
validate(config, "config/schema.yaml")  # also fills in the schema's defaults


envvars:
    "PATH",  # rules call the direction-tagger command found on it


wildcard_constraints:
    run=r"[A-Za-z0-9_.-]+",
    movie=r"[A-Za-z0-9_.-]+",
    evalset=r"[A-Za-z0-9_.-]+",
    dataset=r"[A-Za-z0-9_.-]+",
    part=r"train|test",
    published=r"[^/]+",
    lc_count=r"[0-9]+",
    lc_seed=r"[0-9]+",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/originals.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/learning_curve.smk"
include: "workflow/rules/movies.smk"
include: "workflow/rules/summary.smk"


rule all:
    default_target: True
    input:
        all_targets(),
