# Config validation that names the offending key in one line.
from snakemake.exceptions import WorkflowError


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
    hint = ""
    if where.endswith("train") and "'epochs'" in error.message:
        hint = " (training length is now train.steps (or automatic), see config/schema.yaml)"
    return f"config error at {where}: {error.message}{hint}"
