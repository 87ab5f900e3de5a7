"""The shape of `shared/`: packages only, no import cycles (lazy imports included)."""

from __future__ import annotations

from pathlib import Path

import grimp

SHARED = Path(__file__).resolve().parents[2] / "shared"


def import_cycles() -> list[list[str]]:
    """Every cycle among `shared` modules, each as the modules on it (lazy imports count)."""
    graph = grimp.build_graph("shared", cache_dir=None)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for imported in edges.get(module, []):
            if state.get(imported) == 1:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported)
        path.pop()
        state[module] = 2

    for module in modules:
        if module not in state:
            visit(module)
    return cycles


def test_no_module_of_shared_imports_itself_back() -> None:
    assert import_cycles() == []


def test_every_module_lives_in_a_package() -> None:
    loose = sorted(p.name for p in SHARED.glob("*.py") if p.name != "__init__.py")

    assert loose == []
