"""Conda environments, checked statically (no conda channel is reachable from CI).

Each rule runs a script of workflow/scripts/ that calls one `direction-tagger` command; its
`conda:` environment provides every third-party module that command can import -- found by
walking the imports of the package, starting from the command -- and nothing its rules never
import, pinned at versions inside the ranges pyproject.toml declares. The environments hold
dependencies only: the scripts import the library from the checkout they sit in.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "direction_tagger"
SRC = REPO / "src" / PACKAGE
RULES_DIR = REPO / "workflow" / "rules"
ENVS_DIR = REPO / "envs"

# import name -> conda-forge package names that provide it (first = the one we pin)
CONDA_NAMES = {
    "torch": ("pytorch",),
    "skimage": ("scikit-image",),
    "yaml": ("pyyaml",),
    "imageio_ffmpeg": ("imageio-ffmpeg",),
    "matplotlib": ("matplotlib-base", "matplotlib"),
    "PIL": ("pillow",),
    "cv2": ("opencv", "py-opencv"),  # conda-forge's build without GUI: opencv=...=headless*
}
# conda package -> PyPI distribution, to compare pins with pyproject's ranges
PYPI_NAMES = {
    "pytorch": "torch",
    "matplotlib-base": "matplotlib",
    "opencv": "opencv-python-headless",
}
# Packages an environment may hold without importing them, and why.
STRUCTURAL = {
    "python": "the interpreter",
    "ffmpeg": "the encoder imageio-ffmpeg runs (conda-forge's GPL build has libx264)",
}
SCRIPTS_DIR = REPO / "workflow" / "scripts"


# --- rules -----------------------------------------------------------------------------


@dataclass
class Rule:
    name: str
    file: Path
    shell: str | None = None
    conda: str | None = None
    action: str | None = None  # shell, script, notebook or wrapper
    local: bool = False
    subcommands: set[str] = field(default_factory=set)


def _directive(block: str, name: str) -> str | None:
    """Text of a directive in a snakefmt-formatted rule block (its indented lines)."""
    match = re.search(rf"^    {name}:(.*)\n((?:        .*\n|\s*\n)*)", block, re.M)
    if not match:
        return None
    return (match.group(1) + "\n" + match.group(2)).strip()


def _string_value(text: str) -> str:
    """The concatenated string literals of a directive (f-prefixes dropped, not evaluated)."""
    return "".join(re.findall(r'(?:^|\s)f?"((?:[^"\\]|\\.)*)"', text))


@cache
def workflow_rules() -> dict[str, Rule]:
    rules, local = {}, set()
    for smk in sorted(RULES_DIR.glob("*.smk")):
        text = smk.read_text()
        # rules at the top level, or indented under an `if` / a `for` (a rule per batch:
        # `rule:` with `name: f"tag_movies_..."`, counted once under its name's stem)
        for block in re.split(r"^(?=[ ]*(?:rule|checkpoint)(?: \w+)?:)", text, flags=re.M)[1:]:
            block = textwrap.dedent(block.split("\n\n\n")[0])
            named = re.match(r"(?:rule|checkpoint) (\w+):", block)
            name = named.group(1) if named else re.search(r'name:\s*f?"(\w+?)_\{', block).group(1)
            block = block if block.endswith("\n") else block + "\n"
            rule = Rule(name, smk)
            for action in ("shell", "script", "notebook", "wrapper"):
                if (text_ := _directive(block, action)) is not None:
                    rule.action, rule.shell = action, _string_value(text_)
            if rule.action == "shell":
                rule.subcommands = set(re.findall(r"direction-tagger\s+([a-z][a-z-]*)", rule.shell))
            elif rule.action == "script":
                script = (smk.parent / rule.shell).resolve()
                rule.subcommands = set(
                    re.findall(r'run_command\(\s*snakemake,\s*"([a-z][a-z-]*)"', script.read_text())
                )
            conda = _directive(block, "conda")
            if conda is not None:
                rule.conda = _string_value(conda)
            rule.local = bool(re.search(r"^    localrule:\s*True", block, re.M))
            rules[name] = rule
        for line in re.findall(r"^localrules:(.*)$", text, re.M):
            local.update(re.findall(r"\w+", line))
    for name in local & set(rules):
        rules[name].local = True
    return rules


def command_rules() -> list[Rule]:
    """Rules that run a command (shell, script, notebook or wrapper): they need an env."""
    return [r for r in workflow_rules().values() if r.shell is not None]


def env_path(rule: Rule) -> Path:
    return (rule.file.parent / rule.conda).resolve()


# --- imports ---------------------------------------------------------------------------


def module_file(module: str) -> Path | None:
    path = SRC.parent.joinpath(*module.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


@cache
def parsed(module: str) -> ast.Module:
    return ast.parse(module_file(module).read_text())


def _imported_names(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not node.level:
        return [node.module]
    package = module.split(".")
    if module_file(module).name != "__init__.py":
        package = package[:-1]
    base = ".".join(
        package[: len(package) - node.level + 1] + ([node.module] if node.module else [])
    )
    # `from . import io` imports the module direction_tagger.io
    return [base] + [f"{base}.{a.name}" for a in node.names if module_file(f"{base}.{a.name}")]


def imports_in(module: str, tree: ast.AST) -> list[str]:
    return [
        name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in _imported_names(module, node)
    ]


def top_level_imports(module: str) -> list[str]:
    """Imports that run when the module is imported (not those inside functions)."""
    found = []
    for node in parsed(module).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found += _imported_names(module, node)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):  # guarded imports still run
            found += [
                n
                for child in ast.iter_child_nodes(node)
                if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                for n in imports_in(module, child)
            ]
    return found


def third_party_imports(seeds: list[tuple[str, str, list[str]]]) -> dict[str, list[str]]:
    """Third-party top-level modules reachable from `seeds` (module, mode, chain), each with
    one import chain. Mode "loaded": only the module's imports that run on import (those at
    module level). Mode "used": its functions run too, so every import counts, also those
    inside functions; "used" spreads to the package modules it imports."""
    chains: dict[tuple[str, str], list[str]] = {}
    queue, found = [], {}
    for module, mode, chain in seeds:
        chains[module, mode] = chain
        queue.append((module, mode))
    while queue:
        module, mode = queue.pop(0)  # breadth first: the shortest chain is kept
        names = (
            top_level_imports(module) if mode == "loaded" else imports_in(module, parsed(module))
        )
        for name in names:
            top = name.split(".")[0]
            if top == PACKAGE:
                # a module the code imports but that does not exist (yet) fails there anyway
                if module_file(name) is not None and (name, mode) not in chains:
                    chains[name, mode] = chains[module, mode] + [name]
                    queue.append((name, mode))
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(top, chains[module, mode] + [top])
    return found


def subcommand_functions() -> dict[str, tuple[str, set[str]]]:
    """`direction-tagger <name>` -> (command module, names of its functions that run)."""
    table = {}
    for path in sorted((SRC / "commands").glob("*.py")):
        module = f"{PACKAGE}.commands.{path.stem}"
        registers = [
            n
            for n in parsed(module).body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("register")
        ]
        for register in registers:
            _register_table(module, register, table)
    return table


def _register_table(module: str, register: ast.FunctionDef, table: dict) -> None:
    """The subcommands one `register*(subparsers)` function adds, with their functions."""
    subparsers = register.args.args[0].arg
    current = None
    for node in ast.walk(register):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if (
            node.func.attr == "add_parser"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == subparsers
        ):
            current = node.args[0].value
            table.setdefault(current, (module, set()))
        elif node.func.attr == "set_defaults" and current is not None:
            for kw in node.keywords:
                if kw.arg == "func" and isinstance(kw.value, ast.Name):
                    table[current][1].add(kw.value.id)


def functions_run_by(module: str, entry: set[str]) -> list[ast.FunctionDef]:
    """`entry` and the module's functions they call by name, transitively."""
    defs = {n.name: n for n in parsed(module).body if isinstance(n, ast.FunctionDef)}
    seen, queue = set(), [e for e in entry if e in defs]
    while queue:
        name = queue.pop()
        if name not in seen:
            seen.add(name)
            queue += [
                c.func.id
                for c in ast.walk(defs[name])
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in defs
            ]
    return [defs[name] for name in sorted(seen)]


def command_uses(module: str, entry: set[str]) -> list[str]:
    """Modules the functions `entry` of a command module import, with the module's own
    top-level imports. A helper taken from another command module counts only with what
    that helper imports (command modules are thin: their functions do not share imports)."""
    used = top_level_imports(module)
    for function in functions_run_by(module, entry):
        for node in ast.walk(function):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            base = _imported_names(module, node)[0]
            if (
                isinstance(node, ast.ImportFrom)
                and base.startswith(f"{PACKAGE}.commands.")
                and base != module
            ):
                used += command_uses(base, {alias.name for alias in node.names})
            else:
                used += _imported_names(module, node)
    return used


@cache
def command_imports(subcommand: str) -> dict[str, list[str]]:
    """Third-party modules `direction-tagger <subcommand>` can import, with an import chain.

    The CLI imports every command module at start-up to build its parser: their module-level
    imports always run. The chosen command then uses its own module's imports, those inside
    the functions it runs included."""
    table = subcommand_functions()
    assert subcommand in table, f"no subcommand '{subcommand}' in {sorted(table)}"
    module, entry = table[subcommand]
    why = f"direction-tagger {subcommand}"
    seeds = [(f"{PACKAGE}.cli", "loaded", [why, "cli"])]
    seeds += [
        (m, "loaded", [why, "cli (start-up)", m]) for m in sorted({m for m, _ in table.values()})
    ]
    used = command_uses(module, entry)
    seeds += [(name, "used", [why, f"{module}", name]) for name in used]
    found = third_party_imports([s for s in seeds if s[0].split(".")[0] == PACKAGE])
    for name in used:  # third-party imports of the command module itself
        top = name.split(".")[0]
        if top != PACKAGE and top not in sys.stdlib_module_names and top != "__future__":
            found.setdefault(top, [why, module, top])
    return found


# --- environments ----------------------------------------------------------------------


@cache
def env_file(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def conda_pins(path: Path) -> dict[str, str]:
    """conda package -> version spec of an environment file."""
    pins = {}
    for dep in env_file(path)["dependencies"]:
        if isinstance(dep, str):
            name, spec = re.fullmatch(
                r"([A-Za-z0-9_.-]+)\s*(\S*)", dep.split("#")[0].strip()
            ).groups()
            pins[name] = spec
    return pins


def pip_entries(path: Path) -> list[str]:
    return [
        entry
        for dep in env_file(path)["dependencies"]
        if isinstance(dep, dict)
        for entry in dep.get("pip", [])
    ]


def env_files() -> list[Path]:
    return sorted(ENVS_DIR.glob("*.yaml"))


def provided(import_name: str, pins: dict[str, str]) -> bool:
    names = CONDA_NAMES.get(import_name, (import_name.replace("_", "-").lower(),))
    return any(n in pins for n in names)


def required_packages(rules: list[Rule]) -> set[str]:
    """The conda packages (pinned names) the imports of these rules' commands need."""
    return {
        CONDA_NAMES.get(top, (top.replace("_", "-").lower(),))[0]
        for rule in rules
        for sub in rule.subcommands
        for top in command_imports(sub)
    }


# --- tests -----------------------------------------------------------------------------


def test_the_walk_finds_rules_commands_and_imports():
    rules = workflow_rules()
    assert {"train", "render_movie", "verify", "summary"} <= set(rules)
    assert rules["train"].subcommands == {"train"}
    assert rules["summary"].local
    assert "torch" in command_imports("train")
    assert {"skimage", "imageio_ffmpeg"} <= set(command_imports("render"))
    assert "gdown" in command_imports("download")


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_env_file_parses_and_pins_every_package(path):
    env = env_file(path)
    assert set(env) >= {"channels", "dependencies"}
    assert env["channels"][0] == "conda-forge" and "nodefaults" in env["channels"]
    for name, spec in conda_pins(path).items():
        assert re.fullmatch(r"=?=\d[\w.]*(=\S+)?", spec), (
            f"{path.name}: {name} not pinned ({spec!r})"
        )
    assert pip_entries(path) == [], (
        f"{path.name}: no pip section; an environment holds dependencies only (the rules' "
        "scripts import direction-tagger from their checkout, so checkouts never mix)"
    )


def test_there_are_envs():
    assert {p.name for p in env_files()} >= {"data.yaml", "train.yaml", "render.yaml"}


@pytest.mark.parametrize("rule", command_rules(), ids=lambda r: r.name)
def test_every_rule_that_runs_a_command_has_a_conda_env(rule):
    assert rule.conda, f"rule {rule.name} ({rule.file.name}) has no conda: directive"
    assert env_path(rule).parent == ENVS_DIR and env_path(rule).is_file(), (
        f"rule {rule.name}: conda env {rule.conda} is not a file in envs/ (paths are relative "
        f"to {rule.file.relative_to(REPO)})"
    )


@pytest.mark.parametrize("rule", command_rules(), ids=lambda r: r.name)
def test_env_provides_every_import_of_the_rules_commands(rule):
    assert rule.action == "script", f"rule {rule.name}: runs a {rule.action}, not a script"
    assert rule.subcommands, f"rule {rule.name}: its script calls no `run_command(snakemake, ...)`"
    pins = conda_pins(env_path(rule))
    missing = {
        top: chain
        for sub in rule.subcommands
        for top, chain in command_imports(sub).items()
        if not provided(top, pins)
    }
    assert not missing, f"rule {rule.name}: {rule.conda} lacks " + "; ".join(
        f"{CONDA_NAMES.get(top, (top,))[0]} (import chain: {' -> '.join(chain)})"
        for top, chain in sorted(missing.items())
    )


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_env_holds_nothing_its_rules_do_not_import(path):
    users = [r for r in command_rules() if r.conda and env_path(r) == path.resolve()]
    assert users, f"{path.name} is used by no rule"
    unused = set(conda_pins(path)) - required_packages(users) - set(STRUCTURAL)
    unused -= {alt for names in CONDA_NAMES.values() for alt in names[1:]}  # alternative names
    assert not unused, (
        f"{path.name}: {sorted(unused)} imported by none of its rules "
        f"({', '.join(r.name for r in users)}); drop them"
    )


def test_pins_lie_in_the_ranges_pyproject_declares():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    declared = {
        Requirement(r).name.lower(): Requirement(r).specifier
        for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    for path in env_files():
        for name, spec in conda_pins(path).items():
            pypi = PYPI_NAMES.get(name, name)
            if pypi in declared:
                version = spec.lstrip("=").split("=")[0]
                assert declared[pypi].contains(version, prereleases=True), (
                    f"{path.name}: {name} {version} outside pyproject's {pypi}{declared[pypi]}"
                )


def test_the_workflow_leaves_the_environment_alone():
    """No `os.environ` edits while the Snakefile is parsed and no `envvars:` sent to jobs: what
    a job runs is decided by its script (the checkout's library) and its conda env only."""
    for path in [REPO / "Snakefile", *RULES_DIR.glob("*.smk")]:
        text = path.read_text()
        assert "os.environ" not in text and "envvars:" not in text, path.name


def test_every_script_names_its_rule_and_runs_one_command():
    used = {(Path(r.file.parent / r.shell).resolve()) for r in command_rules()}
    for script in sorted(SCRIPTS_DIR.glob("*.py")):
        if script.name == "run_command.py":
            continue
        assert script in used, f"{script.name} is run by no rule"
        text = script.read_text()
        assert len(re.findall(r"run_command\(", text)) == 1, f"{script.name}: one command each"
        first = ast.get_docstring(ast.parse(text)) or ""
        assert first.startswith("Rule"), f"{script.name}: the docstring names its rule(s)"
