"""The user's config file: tokens per platform, readable by the user alone.

`$XDG_CONFIG_HOME/agent-platform/config.json` (default `~/.config/...`), mode 0600 in a
0700 folder; every save repairs both modes (a folder left 0777, a stale temporary file
left 0644). Tokens are kept per base URL, so a local stack and a deployed platform do
not overwrite each other's session. Tokens never come from the command line: the
session token from `session new`, the operator token from standard input or a prompt.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from agent_platform_cli.errors import CliError

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


class ConfigError(CliError):
    """The config file exists but cannot be read as this client's config."""

    code = "config"


def config_path() -> Path:
    root = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(root) / "agent-platform" / "config.json"


@dataclass
class Platform:
    """What the client remembers about one platform (one base URL)."""

    session_token: str | None = None
    session_expires_at: str | None = None
    operator_token: str | None = None

    def to_json(self) -> dict[str, Any]:
        values = {
            "sessionToken": self.session_token,
            "sessionExpiresAt": self.session_expires_at,
            "operatorToken": self.operator_token,
        }
        return {key: value for key, value in values.items() if value}


@dataclass
class Config:
    path: Path
    platforms: dict[str, Platform] = field(default_factory=dict)

    def platform(self, base_url: str) -> Platform:
        return self.platforms.setdefault(normalise(base_url), Platform())

    @property
    def folder(self) -> Path:
        return self.path.parent

    def ensure_folder(self) -> Path:
        """The config folder, created if missing and set to 0700 even if it was wider."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.folder, 0o700)
        return self.folder

    def save(self) -> None:
        self.ensure_folder()
        body = {"platforms": {url: p.to_json() for url, p in sorted(self.platforms.items())}}
        temporary = self.path.with_suffix(".tmp")
        with private_file(temporary) as handle:
            json.dump(body, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, self.path)


def private_file(path: Path) -> TextIO:
    """`path` opened for writing as a new file of mode 0600: the tokens are never readable
    by others, not even between writing and a chmod. A file left there before (a stale
    temporary file of another mode, or a link) is removed first, since opening an existing
    file keeps its mode; O_EXCL and O_NOFOLLOW refuse anything that appears meanwhile."""
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)  # exactly 0600, whatever the umask
    return os.fdopen(descriptor, "w", encoding="utf-8")


def normalise(base_url: str) -> str:
    return base_url.strip().rstrip("/")


def load(path: Path | None = None) -> Config:
    path = path or config_path()
    if not path.exists():
        return Config(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        platforms = {
            normalise(url): Platform(
                session_token=values.get("sessionToken"),
                session_expires_at=values.get("sessionExpiresAt"),
                operator_token=values.get("operatorToken"),
            )
            for url, values in raw.get("platforms", {}).items()
        }
    except (ValueError, AttributeError, TypeError) as exc:
        raise ConfigError(f"{path} is not a valid config file ({exc}); move it away") from None
    return Config(path, platforms)
