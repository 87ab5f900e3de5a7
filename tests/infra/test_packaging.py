"""`make package`: one zip per manifest entry with only what that entry imports."""

from __future__ import annotations

import ast
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from infra.manifest import ROOT, load
from tools import package

MANIFEST = load()
ENTRIES = MANIFEST.functions
IDS = [entry.name for entry in ENTRIES]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    assert package.main(["--out", str(out)]) == 0
    return out


def archive(dist: Path, name: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(dist / f"{name}.zip")


def requirements(dist: Path, name: str) -> dict[str, str]:
    text = archive(dist, name).read("requirements.txt").decode()
    lines = [line for line in text.splitlines() if line.strip()]
    return {line.split("==")[0].lower(): line.split("==")[1] for line in lines}


def shared_imports_in(zip_file: zipfile.ZipFile) -> set[str]:
    """shared.* modules imported by the Python files inside the zip, as file names."""
    wanted: set[str] = set()
    for name in zip_file.namelist():
        if name.endswith(".py"):
            for imported in package.imported_names(zip_file.read(name).decode()):
                if imported.startswith("shared."):
                    wanted.add(imported)
    return wanted


def test_every_manifest_entry_gets_a_zip(dist: Path) -> None:
    assert sorted(path.stem for path in dist.glob("*.zip")) == sorted(IDS)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_zip_holds_main_requirements_and_shared_if_it_is_imported(dist: Path, entry) -> None:
    zip_file = archive(dist, entry.name)
    names = set(zip_file.namelist())
    needs_shared = bool(shared_imports_in(zip_file))

    assert {"main.py", "requirements.txt"} <= names
    assert ("shared/__init__.py" in names) == needs_shared
    assert not any("__pycache__" in name or name.startswith("tests/") for name in names)


def _provided(dotted: str, names: set[str]) -> bool:
    """`shared.core.log` is shared/core/log.py; `shared.core.models.ApiModel` is in models.py."""
    parts = dotted.split(".")
    for length in range(len(parts), 1, -1):
        path = "/".join(parts[:length])
        if f"{path}.py" in names or f"{path}/__init__.py" in names:
            return True
    return False


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_zip_is_closed_under_its_shared_imports(dist: Path, entry) -> None:
    zip_file = archive(dist, entry.name)
    names = set(zip_file.namelist())

    missing = {module for module in shared_imports_in(zip_file) if not _provided(module, names)}

    assert missing == set()


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_requirements_are_pinned_from_pyproject(dist: Path, entry) -> None:
    pins = {
        line.split("==")[0].lower(): line.split("==")[1]
        for line in package.pinned_dependencies().values()
    }

    found = requirements(dist, entry.name)

    assert found, "a function needs at least functions-framework"
    assert all(pins.get(name) == version for name, version in found.items()), found
    assert "functions-framework" in found


def test_unused_shared_modules_stay_out() -> None:
    guest_session = next(e for e in ENTRIES if e.name == "guest-session")

    collected = package.collect(guest_session)

    assert "shared/identity/sessions.py" in collected.files
    assert "shared/messaging/outbox.py" not in collected.files
    assert "shared/messaging/topics/chat_events.py" not in collected.files


def test_only_the_functions_that_call_the_model_carry_anthropic(dist: Path) -> None:
    carriers = {entry.name for entry in ENTRIES if "anthropic" in requirements(dist, entry.name)}
    importers = {
        entry.name
        for entry in ENTRIES
        if "anthropic" in package.collect(entry).imports
        or any(name.startswith("anthropic.") for name in package.collect(entry).imports)
    }

    assert carriers == importers
    assert "guest-session" not in carriers


def test_webhook_package_does_not_carry_anthropic(dist: Path) -> None:
    webhooks = [entry for entry in ENTRIES if entry.source == "functions/webhook"]

    assert webhooks, "the manifest deploys the webhook"
    for entry in webhooks:
        assert "anthropic" not in requirements(dist, entry.name)


def test_import_mapping_follows_distributions_not_top_level_names() -> None:
    assert package.requirements_for({"google.cloud.firestore"}) == [
        "google-cloud-firestore==2.34.1"
    ]
    assert package.requirements_for({"pydantic_settings.BaseSettings"}) == [
        "pydantic-settings==2.14.1"
    ]
    # google.api_core is not pinned itself: the pinned package that brings it is listed.
    assert package.requirements_for({"google.api_core.exceptions"}) != []


def test_type_checking_imports_do_not_count() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import anthropic\n"

    assert "anthropic" not in package.imported_names(source)


def test_zips_are_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    name = ENTRIES[0].name

    package.build(first, [name])
    package.build(second, [name])

    assert (first / f"{name}.zip").read_bytes() == (second / f"{name}.zip").read_bytes()


# Import every packaged main.py with nothing from this checkout on the path: only the
# zip's own files plus the third-party libraries. `-S` skips site-packages' .pth files,
# so the editable install of `shared` is not visible.
_IMPORT_ALL = """
import importlib.util, sys
site_packages, folders = sys.argv[1], sys.argv[2:]
sys.path.append(site_packages)
for folder in folders:
    for name in [m for m in sys.modules if m == "shared" or m.startswith("shared.")]:
        del sys.modules[name]
    sys.path.insert(0, folder)
    unique = "entry_" + str(abs(hash(folder)))
    spec = importlib.util.spec_from_file_location(unique, folder + "/main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.__dict__, folder
    shared_file = sys.modules["shared"].__file__
    assert shared_file.startswith(folder), (folder, shared_file)
    sys.path.remove(folder)
print("ok", len(folders))
"""


def test_each_packaged_entry_imports_from_its_zip_alone(dist: Path, tmp_path: Path) -> None:
    folders = []
    for entry in ENTRIES:
        folder = tmp_path / entry.name
        archive(dist, entry.name).extractall(folder)
        folders.append(str(folder))
    site_packages = sysconfig.get_paths()["purelib"]

    result = subprocess.run(
        [sys.executable, "-S", "-c", _IMPORT_ALL, site_packages, *folders],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "GOOGLE_CLOUD_PROJECT": "demo-package-test"},
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"ok {len(folders)}")


def test_package_module_needs_no_hand_kept_lists() -> None:
    tree = ast.parse((ROOT / "tools" / "package.py").read_text())
    literal_names = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }

    assert "anthropic" not in literal_names
    assert not any(value.startswith("google-cloud-") for value in literal_names)


def test_the_console_zip_ships_its_static_files_and_only_the_shared_code_it_imports(
    dist: Path,
) -> None:
    names = set(archive(dist, "console").namelist())

    assert {"static/index.html", "static/styles.css", "static/js/app.js"} <= names
    shipped = {name for name in names if name.startswith("shared/") and name.endswith(".py")}
    assert {"shared/core/errors.py", "shared/web/headers.py"} <= shipped
    assert "shared/web/api.py" not in shipped
