"""The code's structure (issue 13): the domain never imports the UI, a layout never loads a
callback module, chart builders touch no data, and no two modules import each other."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dashboard", "charts", "layouts", "callbacks")


def modules() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def imports_of(module: str) -> set[str]:
    """The project modules `module` imports (anywhere in its body), by static reading."""
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    known = set(modules())
    return {name for name in names if name in known and name != module}


def loaded_by(module: str) -> list[str]:
    """The project modules Python has loaded after importing `module` alone."""
    code = (
        f"import json, sys; import {module}; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {PACKAGES!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import one another, directly or around a loop (strongly
    connected components of more than one module). A package's `__init__` importing its own
    submodules is how packages work, so those edges are left out."""
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for target in edges.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    reachable = {m: reach(m) for m in edges}
    groups = {frozenset({m, *(t for t in reachable[m] if m in reachable[t])}) for m in edges}
    return sorted(sorted(g) for g in groups if len(g) > 1)


def test_no_import_cycles():
    assert cycles({module: imports_of(module) for module in modules()}) == []


@pytest.mark.parametrize("module", [m for m in modules() if m.startswith("dashboard")])
def test_the_domain_never_imports_the_ui(module):
    if module == "dashboard.app_factory":
        pytest.skip("the application factory wires the UI on purpose")
    ui = [name for name in imports_of(module) if name.split(".")[0] in ("callbacks", "layouts")]
    assert ui == []


@pytest.mark.parametrize("module", [m for m in modules() if m.startswith("layouts.")])
def test_importing_a_layout_loads_no_callback_module(module):
    assert [m for m in loaded_by(module) if m.startswith("callbacks")] == []


@pytest.mark.parametrize("module", [m for m in modules() if m.startswith("charts")])
def test_chart_builders_touch_no_data_and_no_dash_callbacks(module):
    loaded = loaded_by(module)
    assert [m for m in loaded if m.split(".")[0] in ("callbacks", "layouts")] == []
    assert "dashboard.db" not in loaded and "dashboard.service" not in loaded
