# Input and param functions of the rules in train.smk (which includes this file).
def train_init(wildcards):
    """A refined run fine-tunes the model of the run it comes from."""
    base = run_config(wildcards).get("refined_from")
    return {"init": f"results/{base}/model.pt"} if base else {}


def train_options(wildcards):
    """This run's training options as one JSON param."""
    return as_json(run_config(wildcards)["train"])
