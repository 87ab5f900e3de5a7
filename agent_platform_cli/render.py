"""Text output: aligned tables, score bars and a live progress bar."""

from __future__ import annotations

import unicodedata
from typing import TextIO


def width(text: str) -> int:
    """Columns the text takes in a terminal: Korean and emoji are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int, *, right: bool = False) -> str:
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill


def table(headers: list[str], rows: list[list[str]], *, numeric: set[int] | None = None) -> str:
    """Columns aligned to their widest cell; `numeric` columns are right-aligned."""
    numeric = numeric or set()
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
    else (a log, a pipe) one line per step of 10 %."""

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
