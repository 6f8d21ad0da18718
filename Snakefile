# direction-tagger: find tail base, neck and nose of a rat in 50x50 frames.
#
#   snakemake --cores all                                 # published data (config/config.yaml)
#   snakemake --cores all --configfile config/demo.yaml   # synthetic demo, minutes on a laptop
#
# A --configfile given on the command line replaces config/config.yaml (it is not merged
# into it); --config key=value edits either.
#
# Where a file is made: results/{run}/<file> -> its rule in workflow/rules/<stage>.smk ->
# that rule's script workflow/scripts/<command>.py -> `direction-tagger <command>`
# (src/direction_tagger/commands/<stage>.py) -> the library, src/direction_tagger/<stage>/.
import sys

from snakemake.utils import min_version, validate

min_version("8.0")

# The workflow plans with the library of this checkout (not an installed copy).
sys.path.insert(0, f"{workflow.basedir}/src")
from direction_tagger.config import (
    ConfigError,
    first_config_error,
    refined_runs,
    run_configs,
)

if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


if problem := first_config_error(config, f"{workflow.basedir}/config/schema.yaml"):
    raise WorkflowError(problem)
validate(config, "config/schema.yaml")  # also fills in the schema's defaults
try:
    RUN_CONFIGS = run_configs(config, f"{workflow.basedir}/config/schema.yaml")
    # refine.labels given: each run also has its fine-tuned run, results/{run}_refined/
    RUN_CONFIGS |= refined_runs(config, RUN_CONFIGS)
except ConfigError as err:
    raise WorkflowError(str(err))


wildcard_constraints:
    run=r"[A-Za-z0-9_.-]+",
    movie=r"[A-Za-z0-9_.-]+",
    video=r"[A-Za-z0-9_.-]+",
    evalset=r"[A-Za-z0-9_.-]+",
    dataset=r"[A-Za-z0-9_.-]+",
    part=r"train|test",
    published=r"[^/]+",
    lc_count=r"[0-9]+",
    lc_seed=r"[0-9]+",
    tta=r"[0-9]+",
    architecture=r"[a-z0-9_]+",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/originals.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/learning_curve.smk"
include: "workflow/rules/movies.smk"
include: "workflow/rules/videos.smk"
include: "workflow/rules/refine.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/targets.smk"


rule all:
    default_target: True
    input:
        all_targets(),
