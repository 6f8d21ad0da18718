# Input and param functions of the rules in train.smk (which includes this file).
from direction_tagger.config import PRETRAINED_FOLDER, start_model

# The pretrained start models: one per architecture, shared by every run.
PRETRAINED = f"results/{PRETRAINED_FOLDER}/{{architecture}}"


def train_options(wildcards):
    """This run's training options as one JSON param."""
    return as_json(run_config(wildcards)["train"])


def start_model_input(wildcards):
    """The model this run's training starts from, as an input: a refined run fine-tunes the
    model of the run it comes from (`fine_tune`); others start as train.init says (`start`:
    the pretrained one is then made first, by rule pretrain; nothing from scratch)."""
    base = run_config(wildcards).get("refined_from")
    if base:
        return {"fine_tune": f"results/{base}/model.pt"}
    path = start_model(run_config(wildcards)["train"])
    return {} if path is None else {"start": path}


def pretrain_options(wildcards):
    """The pretraining settings (section pretrain) and the architecture: all it depends on."""
    return as_json(config["pretrain"] | {"architecture": wildcards.architecture})
