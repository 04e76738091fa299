"""The house's walls, read from the source: no import cycle, thin command modules, dvc.yaml's
dependencies cover the code each stage runs, and only evaluation code reads the truth."""

from __future__ import annotations

import ast
import re

import pytest
import yaml

from riskdraw.cli import app
from tests.architecture import SRC, closure, command_closure, imports, modules
from tests.conftest import ROOT

STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
TRUTH_FILES = ("drivers.json", "probabilities.parquet", "identities", "persons.parquet")
"""What the simulator writes to its truth folder that evaluation reads back."""
TRUTH_READERS = {
    "riskdraw.entities.evaluation",
    "riskdraw.features.evaluation",
    "riskdraw.training.evaluation",
}
"""The only modules outside the simulator that may name the truth's files."""
REGISTRATION = {"riskdraw", "riskdraw.cli"}
"""Package inits that hold no stage's logic: the version, and the command's registration of its
modules (a stage's logic is in the command module and the library it calls)."""
EVALUATION_STAGES = {
    "resolution", "selection-evaluation", "evaluate", "plan-evaluation", "chicago-evaluate"
}  # fmt: skip
WALLED = ("features", "training", "entities", "inspection", "monitoring", "serving")


def _command(stage: str):
    """The Typer command a stage's `riskdraw <command>` runs."""
    words = STAGES[stage]["cmd"].split()
    name, commands = words[1], app.registered_commands
    for group in app.registered_groups:  # `riskdraw city ingest`: a command of a group
        if group.name == name:
            name, commands = words[2], group.typer_instance.registered_commands
    for command in commands:
        if (command.name or command.callback.__name__.replace("_", "-")) == name:
            return command.callback
    raise AssertionError(f"stage {stage}: no command {name!r}")


def test_no_import_cycle_among_the_packages_modules():
    graph = {m: imports(m, top_level_only=True) for m in modules()}
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in graph[module]:
            if state.get(target) == "open":
                cycle = [*path[path.index(target) :], target]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])


def test_command_modules_import_no_other_command_module():
    shared = {"riskdraw.cli", "riskdraw.cli._common", "riskdraw.cli._tables"}
    for module in modules():
        if module.startswith("riskdraw.cli.") and module not in shared:
            others = {m for m in imports(module) if m.startswith("riskdraw.cli")} - shared
            assert not others, f"{module} imports {sorted(others)}"


def test_the_library_never_imports_the_command():
    for module in modules():
        if not module.startswith("riskdraw.cli"):
            assert not any(m.startswith("riskdraw.cli") for m in imports(module)), module


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_depends_on_every_module_its_command_runs(stage):
    """Change any module a stage's command loads and `dvc repro` must rerun the stage."""
    command = _command(stage)
    deps = STAGES[stage].get("deps", [])
    needed = command_closure(command.__module__, command.__name__) - REGISTRATION
    files = {modules()[m] for m in needed}
    uncovered = sorted(
        str(f.relative_to(ROOT))
        for f in files
        if not (f.name == "__init__.py" and _only_docstring(f))
        and not any(f == ROOT / d or (ROOT / d) in f.parents for d in deps)
    )
    assert not uncovered, f"stage {stage} runs {uncovered} but does not depend on them"


def _only_docstring(path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def _names_truth(path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    return any(
        isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and id(n) not in docstrings
        and any(re.search(rf"\b{re.escape(f)}\b", n.value) for f in TRUTH_FILES)
        for n in ast.walk(tree)
    )


def test_only_evaluation_modules_name_the_truths_files():
    readers = {
        m for m, path in modules().items() if not m.startswith("riskdraw.simcity")
        and _names_truth(path)
    }  # fmt: skip
    assert readers <= TRUTH_READERS, sorted(readers - TRUTH_READERS)
    assert readers, "the evaluation modules no longer read the truth: update TRUTH_READERS"


@pytest.mark.parametrize("package", WALLED)
def test_walled_packages_reach_the_truth_only_from_their_evaluation_code(package):
    """features/, training/, entities/ and the packages to come (inspection/, monitoring/,
    serving/): a module that is not evaluation code reaches no truth reader, however
    indirectly, and no module imports the simulator."""
    for module in [m for m in modules() if m.startswith(f"riskdraw.{package}")]:
        reached = closure(module)
        assert not any(m.startswith("riskdraw.simcity") for m in reached), module
        if module not in TRUTH_READERS:
            assert not (reached & TRUTH_READERS), f"{module} reaches {reached & TRUTH_READERS}"
    serving = ROOT / "serving"
    if package == "serving" and serving.is_dir():
        for path in serving.rglob("*.py"):
            assert not _names_truth(path), path
            assert "simcity" not in path.read_text(encoding="utf-8"), path


SIMULATOR_STAGES = {"simulate", "results", "rounds"}
"""The simulator's own stages: the city, the bureaus' results of a plan, made from the truth,
and the rounds loop (a simulated city of its own, its rounds judged against its truth)."""


@pytest.mark.parametrize("stage", sorted(set(STAGES) - EVALUATION_STAGES - SIMULATOR_STAGES))
def test_only_evaluation_stages_read_the_truth(stage):
    spec = STAGES[stage]
    assert "data/truth" not in spec["cmd"], stage
    assert not any(str(d).startswith("data/truth") for d in spec.get("deps", [])), stage
    command = _command(stage)
    reached = command_closure(command.__module__, command.__name__)
    assert not (reached & TRUTH_READERS), f"stage {stage} reaches {reached & TRUTH_READERS}"


def test_the_architecture_helpers_see_the_package():
    assert "riskdraw.cli.model" in modules() and SRC.is_dir()
    assert "riskdraw.training.scoring" in closure("riskdraw.training.evaluation")
