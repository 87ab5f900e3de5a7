"""Reading the Terraform in infra/ with python-hcl2, whatever its output dialect.

python-hcl2 8.x keeps the quotes around string values and keys; checkov's fork (which
installs into the same `hcl2` package) drops them and wraps attributes in one-element
lists. `parse` strips quotes so tests see one shape; `one` unwraps the lists.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import hcl2

from infra.manifest import ROOT

INFRA = ROOT / "infra"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return _plain(hcl2.load(handle))


def one(value: Any) -> Any:
    """The value of an attribute, unwrapped from the one-element list some dialects use."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def tf_files(folder: Path = INFRA) -> list[Path]:
    return sorted(path for path in folder.rglob("*.tf") if ".terraform" not in path.parts)


def blocks(folder: Path, kind: str) -> list[tuple[Path, str, str, dict[str, Any]]]:
    """Every `resource`/`data` block in a folder (not recursive): (file, type, name, body)."""
    found = []
    for path in sorted(folder.glob("*.tf")):
        for block in parse(path).get(kind, []):
            for type_, named in block.items():
                for name, body in named.items():
                    found.append((path, type_, name, body))
    return found


def resource(folder: Path, type_: str, name: str) -> dict[str, Any]:
    for _, found_type, found_name, body in blocks(folder, "resource"):
        if (found_type, found_name) == (type_, name):
            return body
    raise AssertionError(f"no resource {type_}.{name} in {folder}")


def module_call(folder: Path, name: str) -> dict[str, Any]:
    for path in sorted(folder.glob("*.tf")):
        for block in parse(path).get("module", []):
            if name in block:
                return dict(block[name])
    raise AssertionError(f"no module {name!r} in {folder}")


def local(folder: Path, name: str) -> Any:
    for path in sorted(folder.glob("*.tf")):
        for block in parse(path).get("locals", []):
            if name in block:
                return one(block[name])
    raise AssertionError(f"no local {name!r} in {folder}")


def variables(folder: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        for block in parse(path).get("variable", []):
            found.update(block)
    return found


def dynamic_blocks(body: dict[str, Any]) -> dict[str, Any]:
    """`dynamic "x" {...}` blocks of a resource body, by name."""
    found: dict[str, Any] = {}
    for item in body.get("dynamic", []):
        found.update(item)
    return found
