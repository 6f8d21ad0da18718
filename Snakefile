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


validate(config, "config/schema.yaml")


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
