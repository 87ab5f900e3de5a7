"""The user's config file: tokens per platform, readable by the user alone.

`$XDG_CONFIG_HOME/agent-platform/config.json` (default `~/.config/...`), mode 0600 in a
0700 folder. Tokens are kept per base URL, so a local stack and a deployed platform do
not overwrite each other's session. Tokens never come from the command line: the
session token from `session new`, the operator token from standard input or a prompt.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


class ConfigError(Exception):
    """The config file exists but cannot be read as this client's config."""


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

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = {"platforms": {url: p.to_json() for url, p in sorted(self.platforms.items())}}
        temporary = self.path.with_suffix(".tmp")
        # Created 0600 from the start: the tokens are never readable by others, not even
        # for the moment between writing and a chmod.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, self.path)


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
