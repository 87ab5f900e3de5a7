"""Every path a tool's configuration names exists, so a renamed file breaks `make test`
instead of silently breaking a gate that runs elsewhere (mutation, import contracts,
evaluations)."""

from __future__ import annotations

import re
import tomllib
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _named_paths() -> list[str]:
    mutmut = PYPROJECT["tool"]["mutmut"]
    paths = [*mutmut["only_mutate"], *mutmut["pytest_add_cli_args_test_selection"]]
    makefile = (ROOT / "Makefile").read_text()
    paths += re.findall(r"(tests/data/[\w./-]+\.jsonl)", makefile)
    paths += re.findall(r"(tests/[\w/]+\.py)", makefile)
    return sorted(set(paths))


@pytest.mark.parametrize("path", _named_paths())
def test_a_path_named_by_a_tools_configuration_exists(path: str) -> None:
    assert (ROOT / path).exists(), f"a tool's configuration names a stale path: {path}"


def _contract_modules() -> list[str]:
    modules = []
    for contract in PYPROJECT["tool"]["importlinter"]["contracts"]:
        for layer in contract.get("layers", []):
            modules += [name.strip() for name in layer.split("|")]
    return modules


@pytest.mark.parametrize("module", _contract_modules())
def test_a_module_named_by_the_import_contract_exists(module: str) -> None:
    assert find_spec(module) is not None, f"the import contract names a missing module: {module}"
