"""The config file keeps tokens readable by the user alone, whatever was there before."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from agent_platform_cli.config import load


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_saving_repairs_a_world_writable_folder_and_a_stale_temporary_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "agent-platform"
    folder.mkdir()
    os.chmod(folder, 0o777)  # noqa: S103 - the mistake the save repairs
    stale = folder / "config.tmp"
    stale.write_text("{}")
    os.chmod(stale, 0o644)
    config = load(folder / "config.json")
    config.platform("http://127.0.0.1:8080").session_token = "gst_secret"

    config.save()

    assert _mode(folder) == 0o700
    assert _mode(config.path) == 0o600
    assert not stale.exists()


def test_a_link_planted_as_the_temporary_file_does_not_receive_the_tokens(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "agent-platform"
    folder.mkdir(mode=0o700)
    elsewhere = tmp_path / "readable-by-all.json"
    elsewhere.write_text("")
    os.chmod(elsewhere, 0o644)
    (folder / "config.tmp").symlink_to(elsewhere)
    config = load(folder / "config.json")
    config.platform("http://127.0.0.1:8080").session_token = "gst_secret"

    config.save()

    assert elsewhere.read_text() == ""
    assert _mode(config.path) == 0o600
    assert json.loads(config.path.read_text())["platforms"]["http://127.0.0.1:8080"] == {
        "sessionToken": "gst_secret"
    }
