# direction-tagger: find tail base, neck and nose of a rat in 50x50 frames.
#
#   snakemake --cores all                                 # published data (config/config.yaml)
#   snakemake --cores all --configfile config/demo.yaml   # synthetic demo, minutes on a laptop
#
# A --configfile given on the command line replaces config/config.yaml (it is not merged
# into it); --config key=value edits either.

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("8.0")


if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


def first_config_error(cfg, schema_file):
    """One line naming the offending key, instead of the validator's whole schema dump."""
    import jsonschema
    import yaml

    with open(schema_file) as f:
        schema = yaml.safe_load(f)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(cfg))
    if not errors:
        return None
    error = jsonschema.exceptions.best_match(errors)
    where = ".".join(str(p) for p in error.absolute_path) or "top level"
    return f"config error at {where}: {error.message}"


if problem := first_config_error(config, f"{workflow.basedir}/config/schema.yaml"):
    raise WorkflowError(problem)
validate(config, "config/schema.yaml")  # also fills in the schema's defaults


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/originals.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/movies.smk"
include: "workflow/rules/summary.smk"


rule all:
    input:
        all_targets(),
    default_target: True
