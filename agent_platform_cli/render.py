"""Text output: what reaches the terminal, aligned tables, score bars and a progress bar.

Everything the platform or its model says passes through `clean` on its way out (the
`Output` streams call it on every write), so an answer cannot move the cursor, set the
window title, clear the screen, ring the bell or write the clipboard (OSC 52).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, TextIO

# Whole escape sequences first, so none leaves its parameters behind as visible noise:
# CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ST; unterminated: to the end),
# DCS/SOS/PM/APC strings (ESC P/X/^/_ ... ST), the other two- and three-byte escapes,
# and the single-character C1 forms of CSI, OSC and the string introducers.
_SEQUENCE = re.compile(
    r"""
      \x1b\[ [0-?]* [ -/]* [@-~]?
    | \x1b\] [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)?
    | \x1b[PX^_] [^\x1b\x9c]* (?:\x1b\\|\x9c)?
    | \x1b [ -/]* [0-~]?
    | \x9b [0-?]* [ -/]* [@-~]?
    | [\x90\x98\x9d\x9e\x9f] [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)?
    """,
    re.VERBOSE,
)
# Then every control character left but newline and tab: C0 (BEL, backspace, carriage
# return, ...), DEL and C1. A lone ESC cut from its sequence goes here too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """`text` without terminal control sequences or control characters (newline and tab
    stay). An escape split over two writes is harmless: its ESC never reaches the terminal.
    """
    return _CONTROL.sub("", _SEQUENCE.sub("", text.replace("\r\n", "\n")))


def one_line(text: str) -> str:
    """`clean` text on a single line (for error sentences built from the platform's words)."""
    return " ".join(clean(text).split())


def json_text(value: Any, *, compact: bool = False) -> str:
    """`value` as JSON that is safe to print: readable non-ASCII text, with the control
    characters JSON would leave raw (DEL and C1) escaped as well. `compact`: one line."""
    if compact:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(value, ensure_ascii=False, indent=2)
    return re.sub(r"[\x7f-\x9f]", lambda match: f"\\u{ord(match.group()):04x}", text)


# -- colour --------------------------------------------------------------------------------

STYLES = {
    "error": "1;31",
    "fail": "1;31",
    "pass": "1;32",
    "prompt": "1;32",
    "label": "1;36",
    "note": "2",
}


def colour_wanted(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org) or the
    terminal is `dumb`."""
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Output:
    """A stream the CLI writes to: every write is `clean`ed, then styled when colour is on."""

    def __init__(self, stream: TextIO, *, colour: bool | None = None) -> None:
        self.stream = stream
        self.colour = colour_wanted(stream) if colour is None else colour

    def isatty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def style(self, text: str, style: str | None, *, prompt: bool = False) -> str:
        """`text` in `style` when colour is on. A readline prompt (`prompt=True`) marks the
        escapes as invisible, so line editing knows the prompt's width."""
        if not (self.colour and style):
            return text
        start, end = ("\001", "\002") if prompt else ("", "")
        return f"{start}\033[{STYLES[style]}m{end}{text}{start}\033[0m{end}"

    def write(self, text: str, style: str | None = None) -> None:
        self.stream.write(self.style(clean(text), style))
        self.stream.flush()

    def line(self, text: str = "", style: str | None = None) -> None:
        self.stream.write(self.style(clean(text), style) + "\n")
        self.stream.flush()

    def json(self, value: Any, *, compact: bool = False) -> None:
        """One JSON document (`compact`: on one line, for a stream of events)."""
        self.stream.write(json_text(value, compact=compact) + "\n")
        self.stream.flush()


# -- layout --------------------------------------------------------------------------------


def width(text: str) -> int:
    """Columns the text takes in a terminal: Korean and emoji are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, *, right: bool = False) -> str:
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill


def table(headers: list[str], rows: list[list[str]], *, numeric: set[int] | None = None) -> str:
    """Columns aligned to their widest cell; `numeric` columns are right-aligned. Cells are
    measured after `one_line`, as they will be shown."""
    numeric = numeric or set()
    rows = [[one_line(cell) for cell in row] for row in rows]
    widths = [max([width(h), *(width(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    lines = []
    for cells in [headers, *rows]:
        padded = [pad(cell, widths[i], right=i in numeric) for i, cell in enumerate(cells)]
        lines.append("  ".join(padded).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def bar(fraction: float, columns: int = 24) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * columns)
    return "█" * filled + "·" * (columns - filled)


class ProgressBar:
    """`label [#####.....]  40%  6/15 s` rewritten in place on a terminal; on anything
    else (a log, a pipe) one line per step of 10 %. Its text is the CLI's own."""

    def __init__(self, stream: TextIO, label: str, total_seconds: float) -> None:
        self.stream = stream
        self.label = label
        self.total = max(total_seconds, 0.1)
        self.live = stream.isatty()
        self._last_step = -1

    def update(self, elapsed: float) -> None:
        fraction = min(elapsed / self.total, 1.0)
        line = (
            f"{self.label} [{bar(fraction, 30)}] {fraction:4.0%}  "
            f"{min(elapsed, self.total):.0f}/{self.total:.0f} s"
        )
        if elapsed > self.total:
            line += "  (judging the results)"
        if self.live:
            self.stream.write("\r" + line + "\033[K")
            self.stream.flush()
            return
        step = int(fraction * 10)
        if step != self._last_step:
            self._last_step = step
            self.stream.write(line + "\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
