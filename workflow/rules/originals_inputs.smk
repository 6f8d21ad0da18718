# Input and param functions of the rules in originals.smk (which includes this file).
from direction_tagger.config import split_groups


def augment_options(wildcards):
    """The augment command's options; a size of 0 switches that factor off."""
    a = config["originals"]["augment"]
    options = ["--seed", a["seed"]]
    options += [f"--no-{name}" for name in ("rot90", "vflip") if not a[name]]
    for name, switch in (
        ("pixel_noise_sigma", "pixel-noise"),
        ("pixel_shift_px", "pixel-shift"),
        ("label_noise_sigma", "label-noise"),
    ):
        if a[name]:
            options += [f"--{name.replace('_', '-')}", a[name]]
        else:
            options.append(f"--no-{switch}")
    return options


def split_groups_input(wildcards):
    """The copy groups `recover` found, when the split groups by them (library decides)."""
    kind, _ = split_groups(config, run_config(wildcards))
    return {"groups": f"{DATA}/originals_groups.npz"} if kind == "file" else {}


def split_group_key(wildcards):
    return split_groups(config, run_config(wildcards))[1]


def split_fractions(wildcards):
    s = run_config(wildcards)["split"]
    return f"{s['train']},{s['val']},{s['test']}"
