"""The package's import graph, read from the source (no import runs): shared by the tests of
the walls, the cycles and dvc.yaml's dependencies."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    """riskdraw.<...> of a file under src/."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["riskdraw", *parts])


@cache
def modules() -> dict[str, Path]:
    """Every module of the package -> its file."""
    return {module_name(p): p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts}


def _resolve(name: str) -> str | None:
    """The package module `name` refers to (a module, or the package holding the name)."""
    found = modules()
    while name and name not in found:
        name = name.rpartition(".")[0]
    return name or None


def _package(module: str) -> str:
    """The package relative imports in `module` start from."""
    return module if modules()[module].name == "__init__.py" else module.rpartition(".")[0]


def _targets(nodes, package: str) -> set[str]:
    """The package modules the import statements among `nodes` refer to."""
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base]) if base else ".".join(up)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        out |= {t for n in names if n.startswith("riskdraw") and (t := _resolve(n))}
    return out


@cache
def imports(module: str, top_level_only: bool = False) -> frozenset[str]:
    """The package modules `module` imports (at top level only, or anywhere in it); at top
    level, imports guarded by `if TYPE_CHECKING` and the like count too."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    nodes = ast.walk(tree)
    if top_level_only:
        nodes = [n for n in ast.walk(tree) if getattr(n, "col_offset", 1) == 0]
    return frozenset(_targets(nodes, _package(module)) - {module})


def closure(module: str) -> set[str]:
    """`module` and every package module it reaches through imports (anywhere in a file)."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parents = current.split(".")
        todo.extend(".".join(parents[:i]) for i in range(1, len(parents)))  # packages run too
        todo.extend(imports(current))
    return seen


def _function_imports(module: str, function: str) -> set[str]:
    """The package modules a function of `module` imports in its body, with the module's
    top-level imports (what running that function loads from the package)."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    body = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and n.name == function
    )  # fmt: skip
    return set(imports(module, top_level_only=True)) | _targets(ast.walk(body), _package(module))


def command_closure(module: str, function: str) -> set[str]:
    """What running one command function loads from the package: its module, and the closure
    of what it and its module import (`closure` of each)."""
    seen = {module}
    for target in _function_imports(module, function):
        seen |= closure(target)
    return seen
