# Input and param functions of the rules in train.smk (which includes this file).
def train_options(wildcards):
    """This run's training options as one JSON param."""
    return as_json(run_config(wildcards)["train"])
