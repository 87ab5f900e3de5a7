"""The CLI's exit statuses and its root error: every failure is a sentence and a status.

Each error class carries the exit status it ends the process with, so `main` reads it
from there instead of keeping a table of its own.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class Exit(IntEnum):
    """What the process's exit status means (docs/cli.md lists them)."""

    OK = 0
    FAILED = 1  # the platform refused or failed, its answer was unusable, or a token is missing
    USAGE = 2  # an unknown command, option or argument value (argparse's own status)
    UNREACHABLE = 3  # the platform could not be reached at all
    VERDICT_FAIL = 4  # `loadtest run` finished and its SLO verdict is FAIL
    NOT_CONFIRMED = 5  # `ops` planned a change that was not confirmed, so nothing ran
    INTERRUPTED = 130  # Ctrl-C outside an answer being streamed


class CliError(Exception):
    """Root of the CLI's errors: `str()` is the sentence shown after `error: `, `code`
    names the kind in `--json` output."""

    exit_status = Exit.FAILED
    code: str | None = "error"

    def as_json(self) -> dict[str, Any]:
        """The error as `--json` prints it (the shape of the platform's error document)."""
        return {"error": {"code": self.code, "message": str(self), "details": []}}


class CommandError(CliError):
    """A problem the user can fix (no session, no such agent), said in one line."""

    code = "command"


class UsageError(CliError):
    """An argument argparse accepted but the command cannot use (e.g. a base URL that is
    not http(s))."""

    exit_status = Exit.USAGE
    code = "usage"
