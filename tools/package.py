"""`make package`: one deployable zip per manifest entry, holding only what it imports.

`dist/<entry>.zip` contains the function folder (main.py at the root), the modules of
the `shared` package that main.py reaches through its imports (followed transitively,
lazy imports inside functions included, `if TYPE_CHECKING:` imports excluded) with the
`__init__.py` of every package on their path (importing `shared.chat.runs` runs
`shared/chat/__init__.py` first), the data files beside them that they name
(`personas.yaml`), and a `requirements.txt` derived
from the third-party imports of those files: each import is mapped to the distribution
that provides it and pinned to the version in pyproject.toml. An import provided only by
a transitive dependency (for example `google.api_core`, which comes with
google-cloud-firestore) pulls in the pinned distribution that brings it, so nothing is
listed by hand.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

from infra.manifest import ROOT, Entry, load

SHARED = "shared"
# Files every package carries regardless of imports: the package marker and type marker.
SHARED_ALWAYS = ("__init__.py", "py.typed")
DATA_SUFFIXES = (".yaml", ".json")
# A fixed timestamp makes the zip a function of its contents: same input, same bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", "tests", ".pytest_cache"}


class PackagingError(Exception):
    """An import that no pinned dependency provides, or a missing shared module."""


@dataclass
class Package:
    entry: str
    files: dict[str, Path] = field(default_factory=dict)  # archive name -> source file
    shared_modules: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)  # third-party dotted names
    requirements: list[str] = field(default_factory=list)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def pinned_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """Canonical distribution name -> `name==version` line from [project].dependencies."""
    project = tomllib.loads(pyproject.read_text())["project"]
    pins: dict[str, str] = {}
    for spec in project["dependencies"]:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;]+)\s*", spec)
        if match is None:
            raise PackagingError(f"dependency {spec!r} is not pinned with ==")
        pins[_canonical(match.group(1))] = f"{match.group(1)}=={match.group(2)}"
    return pins


@cache
def _distribution_modules() -> dict[str, set[str]]:
    """Installed distribution -> dotted module/package names its files provide."""
    provided: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        name = _canonical(dist.metadata["Name"] or "")
        modules = provided.setdefault(name, set())
        for file in dist.files or ():
            parts = file.parts
            if not parts or parts[0].endswith((".dist-info", ".egg-info", ".data")):
                continue
            if parts[-1].endswith(".py") or parts[-1].endswith(".so"):
                stem = parts[-1].split(".", 1)[0]
                dotted = [*parts[:-1], stem] if stem != "__init__" else list(parts[:-1])
                if dotted and all(part.isidentifier() for part in dotted):
                    modules.add(".".join(dotted))
    return provided


def distribution_of(module: str) -> str:
    """The installed distribution providing `module` (longest dotted-prefix match)."""
    parts = module.split(".")
    provided = _distribution_modules()
    for length in range(len(parts), 0, -1):
        prefix = ".".join(parts[:length])
        owners = sorted(name for name, modules in provided.items() if prefix in modules)
        if len(owners) == 1:
            return owners[0]
        if len(owners) > 1 and length == len(parts):
            # Namespace packages (`google`) have many owners; a full name has one.
            raise PackagingError(f"{module} is provided by several distributions: {owners}")
    raise PackagingError(f"no installed distribution provides {module!r}")


@cache
def requirement_closure(distribution: str) -> frozenset[str]:
    """The distribution and everything it requires (extras and markers ignored)."""
    seen: set[str] = set()
    pending = [distribution]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement:
                continue
            match = re.match(r"\s*([A-Za-z0-9_.-]+)", requirement)
            if match:
                pending.append(_canonical(match.group(1)))
    return frozenset(seen)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Line numbers of `if TYPE_CHECKING:` bodies (imports there never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imported_names(source: str) -> set[str]:
    """Absolute dotted names a module imports anywhere in its body (lazy ones too)."""
    tree = ast.parse(source)
    skipped = _type_checking_lines(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from shared import log` names the submodule shared.core.log; `from shared.core.models
            # import ApiModel` an attribute of shared.core.models: resolved by longest prefix.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _shared_module_file(dotted: str) -> Path | None:
    relative = Path(*dotted.split("."))
    for candidate in (ROOT / relative.with_suffix(".py"), ROOT / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _shared_module(dotted: str) -> str | None:
    """The longest prefix of `dotted` that is a module of the shared package."""
    parts = dotted.split(".")
    for length in range(len(parts), 1, -1):
        prefix = ".".join(parts[:length])
        if _shared_module_file(prefix) is not None:
            return prefix
    return None


def _parent_packages(module: str) -> list[str]:
    """`shared.chat.runs` -> [`shared.chat`]: packages whose `__init__` an import runs."""
    parts = module.split(".")
    return [".".join(parts[:length]) for length in range(2, len(parts))]


def collect(entry: Entry) -> Package:
    """Walk main.py's imports: the shared modules to ship and the third-party imports."""
    package = Package(entry.name)
    folder = ROOT / entry.source
    local_modules = {path.stem for path in folder.glob("*.py")}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not _SKIP_PARTS.intersection(path.relative_to(folder).parts):
            package.files[path.relative_to(folder).as_posix()] = path

    pending = [path for name, path in package.files.items() if name.endswith(".py")]
    visited: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in visited:
            continue
        visited.add(path)
        for name in imported_names(path.read_text()):
            top = name.split(".", 1)[0]
            if top == SHARED:
                module = _shared_module(name)
                if module is None:
                    if name != SHARED:
                        raise PackagingError(f"{path}: {name} is not a module of {SHARED}")
                    continue
                for parent in _parent_packages(module):
                    package.shared_modules.add(parent)
                    pending.append(_shared_module_file(parent) or path)
                package.shared_modules.add(module)
                pending.append(_shared_module_file(module) or path)
            elif top in sys.stdlib_module_names or top in local_modules or top == "__future__":
                continue
            else:
                package.imports.add(name)

    shared_root = ROOT / SHARED
    # An entry that imports nothing from `shared` (the console) ships no `shared` at all.
    for name in SHARED_ALWAYS if package.shared_modules else ():
        if (shared_root / name).is_file():
            package.files[f"{SHARED}/{name}"] = shared_root / name
    for module in package.shared_modules:
        module_file = _shared_module_file(module)
        assert module_file is not None
        package.files[module_file.relative_to(ROOT).as_posix()] = module_file
    # A data file ships with the modules beside it that name it (`personas.yaml`).
    for module in sorted(package.shared_modules):
        module_file = _shared_module_file(module)
        assert module_file is not None
        text = module_file.read_text()
        for path in sorted(module_file.parent.iterdir()):
            if path.suffix in DATA_SUFFIXES and path.name in text:
                package.files[path.relative_to(ROOT).as_posix()] = path
    package.requirements = requirements_for(package.imports)
    return package


def requirements_for(imports: set[str]) -> list[str]:
    """Pinned requirement lines covering every third-party import."""
    pins = pinned_dependencies()
    chosen: set[str] = set()
    indirect: dict[str, str] = {}
    for module in sorted(imports):
        distribution = distribution_of(module)
        if distribution in pins:
            chosen.add(distribution)
        else:
            indirect[module] = distribution
    for module, distribution in sorted(indirect.items()):
        if any(distribution in requirement_closure(pinned) for pinned in chosen):
            continue
        # Smallest pinned dependency that brings it along.
        carriers = sorted(
            (pinned for pinned in pins if distribution in requirement_closure(pinned)),
            key=lambda pinned: (len(requirement_closure(pinned)), pinned),
        )
        if not carriers:
            raise PackagingError(
                f"{module} comes from {distribution}, which no pinned dependency in "
                "pyproject.toml provides; pin it there"
            )
        chosen.add(carriers[0])
    return sorted((pins[name] for name in chosen), key=str.lower)


def write_zip(package: Package, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{package.entry}.zip"
    requirements = "\n".join(package.requirements) + "\n"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(package.files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, package.files[name].read_bytes(), zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("requirements.txt", date_time=ZIP_TIME)
        info.external_attr = 0o644 << 16
        archive.writestr(info, requirements, zipfile.ZIP_DEFLATED)
    return target


def build(out_dir: Path, names: list[str] | None = None) -> list[tuple[Package, Path]]:
    manifest = load()
    entries = [entry for entry in manifest.functions if not names or entry.name in names]
    unknown = set(names or ()) - {entry.name for entry in entries}
    if unknown:
        raise PackagingError(f"not in the manifest: {sorted(unknown)}")
    built = []
    for entry in entries:
        package = collect(entry)
        built.append((package, write_zip(package, out_dir)))
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="manifest entries to package (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder")
    args = parser.parse_args(argv)
    try:
        built = build(args.out, args.names)
    except PackagingError as exc:
        sys.stderr.write(f"package: {exc}\n")
        return 1
    for package, path in built:
        sys.stdout.write(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  "
            f"{path.stat().st_size // 1024} KiB  shared: {len(package.shared_modules)} modules  "
            f"requires: {', '.join(line.split('==')[0] for line in package.requirements)}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
