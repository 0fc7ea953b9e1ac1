"""The package's shape: core loads neither tornado nor IPython, kernel loads no tornado, and no
module imports another that (through others) imports it back."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
NAME = PACKAGE.name


def modules(layer: Path) -> list[str]:
    return [
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for path in sorted(layer.rglob("*.py"))
        if "tests" not in path.relative_to(PACKAGE).parts
    ]


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [("core", ["tornado", "IPython", "jupyter_server"]), ("kernel", ["tornado", "jupyter_server"])],
)
def test_a_layer_loads_nothing_of_the_layers_it_must_not_know(layer, forbidden):
    # A fresh interpreter: this one has loaded everything already.
    imports = modules(PACKAGE / layer)
    code = (
        "import importlib, sys\n"
        f"for name in {imports!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(forbidden)!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def imported(module: str, tree: ast.AST, known: set[str]) -> set[str]:
    """The package's modules ``module`` imports anywhere in its code (also in functions)."""
    package = module if module.endswith("__init__") else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        found |= {n for name in names for n in (name, f"{name}.__init__") if n in known}
    return found - {module}


def test_no_import_cycle():
    paths = {m: PACKAGE.parent.joinpath(*m.split(".")).with_suffix(".py") for m in modules(PACKAGE)}
    known = set(paths)
    graph = {m: imported(m, ast.parse(p.read_text()), known) for m, p in paths.items()}
    assert graph[f"{NAME}.kernel.client"], "the import walk found nothing: it is broken"
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycle = [*trail[trail.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
