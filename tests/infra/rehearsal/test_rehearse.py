"""`make rehearse` fails, with a clear line, when Terraform or a package drifts.

Each case breaks a copy of infra/ or of a zip the way a real change could, then rehearses
the load-test function alone (one Python 3.12 environment, shared by the cases) and fires
the scheduled call Terraform defines for it. Marked `rehearse`: `make rehearse` runs
these after the full rehearsal; `make test` does not.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.manifest import load
from infra.rehearsal.rehearse import Rehearsal, Row
from infra.rehearsal.runtime import Environments, runtime_python
from tests.infra.terraform_hcl import INFRA
from tools import package

pytestmark = [pytest.mark.rehearse, pytest.mark.timeout(900)]
ENTRY = "loadtest"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    package.build(out, [ENTRY])
    return out


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> Environments:
    python = runtime_python(load().defaults["runtime"])
    return Environments(python, tmp_path_factory.mktemp("venvs"))


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
    return copy


def rehearse_scheduled_calls(
    infra: Path, dist: Path, venvs: Environments, work: Path
) -> Iterator[Row]:
    """Rehearse the load-test function alone and fire its scheduled calls; failed rows
    (calls of other functions, which are not started here, left out)."""
    manifest = load(infra / "functions.yaml")
    rehearsal = Rehearsal(infra, dist, work, manifest, venvs=venvs)
    (work / "logs").mkdir(parents=True)
    others: set[str] = set()
    try:
        rehearsal.start([e for e in manifest.functions if e.name == ENTRY], work / "logs")
        if ENTRY in rehearsal.functions:
            rehearsal.fire_scheduled_calls()
        if rehearsal.runtime is not None:
            calls = rehearsal.runtime.scheduled_calls.items()
            others = {f"scheduler {key}" for key, call in calls if call.function != ENTRY}
    finally:
        rehearsal.stop()
    return (row for row in rehearsal.rows if not row.ok and row.subject not in others)


def edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text()
    changed, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} matched {count} times in {path}"
    path.write_text(changed)


def test_a_variable_removed_from_terraform_fails_the_scheduled_run(
    infra_copy: Path, dist: Path, venvs: Environments, tmp_path: Path
) -> None:
    edit(infra_copy / "modules/runtime_config/main.tf", r"^\s*LOADTEST_ALLOWED_TARGETS\s*=.*\n", "")

    failed = list(rehearse_scheduled_calls(infra_copy, dist, venvs, tmp_path / "work"))

    assert [(row.subject, row.detail[:13]) for row in failed] == [
        ("scheduler loadtest", "answered 422:")
    ]
    assert "is not in LOADTEST_ALLOWED_TARGETS" in failed[0].detail


def test_a_scheduler_body_without_a_scenario_fails_the_scheduled_run(
    infra_copy: Path, dist: Path, venvs: Environments, tmp_path: Path
) -> None:
    edit(infra_copy / "variables.tf", r'body = "\{\\"scenario\\": \\"light\\"\}"', 'body = "{}"')

    failed = list(rehearse_scheduled_calls(infra_copy, dist, venvs, tmp_path / "work"))

    assert [(row.subject, row.detail[:13]) for row in failed] == [
        ("scheduler loadtest", "answered 400:")
    ]
    assert "scenario" in failed[0].detail


def test_a_package_missing_a_module_it_imports_fails_to_start(
    dist: Path, venvs: Environments, tmp_path: Path
) -> None:
    broken = tmp_path / "dist"
    broken.mkdir()
    source = zipfile.ZipFile(dist / f"{ENTRY}.zip")
    imported = {
        name
        for name in package.imported_names(source.read("main.py").decode())
        if name.startswith("shared.")
    }
    missing = next(
        member
        for member in sorted(source.namelist())
        if member.endswith(".py")
        and member.startswith("shared/")
        and member.removesuffix(".py").replace("/", ".") in imported
    )
    with zipfile.ZipFile(broken / f"{ENTRY}.zip", "w") as archive:
        for member in source.namelist():
            if member != missing:
                archive.writestr(member, source.read(member))

    failed = list(rehearse_scheduled_calls(INFRA, broken, venvs, tmp_path / "work"))

    assert [(row.subject, row.check) for row in failed] == [(ENTRY, "start")]
    module = missing.removesuffix(".py").rsplit("/", 1)[-1]
    # `import shared.x` says ModuleNotFoundError; `from shared import x` says ImportError.
    assert re.search(rf"(ModuleNotFoundError|ImportError): .*\b{module}\b", failed[0].detail)
