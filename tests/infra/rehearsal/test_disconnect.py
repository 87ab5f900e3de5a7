"""The deployed configuration keeps generating an answer after its client goes.

Rehearses the functions a streamed answer meets (guest-session, agents, chat and the
continuation entry) from their packages, as Terraform configures them, and runs the
rehearsal's disconnect check: a stream cut mid-answer, the chat function's processes
stopped (SIGSTOP, as request-based billing throttles an instance whose response ended),
the answer finished through `chat-continue`, then a resume. Without the continuation
entry in the manifest the same check fails, naming what never came. Marked `rehearse`:
`make rehearse` runs these after the full rehearsal; `make test` does not.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from infra.manifest import load
from infra.rehearsal import disconnect
from infra.rehearsal.rehearse import Rehearsal, Row
from infra.rehearsal.runtime import Environments, runtime_python
from tests.infra.terraform_hcl import INFRA
from tools import package

pytestmark = [pytest.mark.rehearse, pytest.mark.timeout(1200)]
ENTRIES = ["guest-session", "agents", "chat", disconnect.CONTINUE_ENTRY]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    package.build(out, ENTRIES)
    return out


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> Environments:
    python = runtime_python(load().defaults["runtime"])
    return Environments(python, tmp_path_factory.mktemp("venvs"))


def rehearse_disconnect(
    infra: Path, dist: Path, venvs: Environments, work: Path, wait: float
) -> list[Row]:
    """Start the entries of `infra`'s manifest that a chat answer meets, then the check;
    every row recorded."""
    manifest = load(infra / "functions.yaml")
    rehearsal = Rehearsal(infra, dist, work, manifest, venvs=venvs)
    (work / "logs").mkdir(parents=True)
    try:
        rehearsal.start([e for e in manifest.functions if e.name in ENTRIES], work / "logs")
        rehearsal.start_gateway(work / "logs")
        rehearsal.check_disconnect(wait=wait)
    finally:
        rehearsal.stop()
    return rehearsal.rows


def test_an_answer_cut_mid_stream_is_finished_by_the_continuation_while_chat_is_stopped(
    dist: Path, venvs: Environments, tmp_path: Path
) -> None:
    rows = rehearse_disconnect(INFRA, dist, venvs, tmp_path / "work", wait=60)

    assert [row for row in rows if not row.ok] == []
    [check] = [row for row in rows if row.check == disconnect.CHECK]
    assert "finished it (completed" in check.detail


def test_without_the_continuation_entry_the_check_fails(
    dist: Path, venvs: Environments, tmp_path: Path
) -> None:
    infra = tmp_path / "infra"
    shutil.copytree(INFRA, infra, ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
    manifest = infra / "functions.yaml"
    entry = re.compile(r"^  - name: chat-continue\n(?:    .*\n|      .*\n|\n)*?(?=  #|  - )", re.M)
    text, removed = entry.subn("", manifest.read_text())
    assert removed == 1
    manifest.write_text(text)

    rows = rehearse_disconnect(infra, dist, venvs, tmp_path / "work", wait=15)

    failed = [(row.subject, row.check, row.detail) for row in rows if not row.ok]
    assert failed == [
        (
            disconnect.SUBJECT,
            disconnect.CHECK,
            "no sign of the answer's end while the chat function is stopped within 15 s",
        )
    ]
