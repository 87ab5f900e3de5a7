"""Regular expressions compiled when first used, not at import.

The readers (`shared.tools.phrases`, `shared.tools.quantities`) hold a few hundred
patterns; compiling them costs about 100 ms, which every function that imports the tool
registry would otherwise pay at cold start, used or not.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any


class LazyPattern:
    """A `re.Pattern` that compiles on its first use (the methods the readers call)."""

    __slots__ = ("_compiled", "_flags", "_lock", "source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source, self._flags = source, flags
        self._compiled: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    self._compiled = re.compile(self.source, self._flags)
        return self._compiled

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self.compiled.match(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text)

    def findall(self, text: str) -> list[Any]:
        return self.compiled.findall(text)

    def sub(self, replacement: str | Callable[[re.Match[str]], str], text: str) -> str:
        return self.compiled.sub(replacement, text)


def lazy(source: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(source, flags)
