"""Every HTTP entry point of the JSON API, loaded once per test run for cross-cutting tests.

The console is left out: it serves a page and its files, not JSON routes with an OpenAPI
document (tests/functions/console covers its headers and errors)."""

from __future__ import annotations

from functools import cache

from infra.manifest import Entry, load
from tests.conftest import LoadedFunction, load_function

HTTP_ENTRIES: list[Entry] = [e for e in load().http_entries() if e.name != "console"]


@cache
def loaded(entry_name: str) -> LoadedFunction:
    entry = next(e for e in HTTP_ENTRIES if e.name == entry_name)
    return load_function(entry.source, entry.entry_point)


def operators_only(entry: Entry) -> bool:
    return entry.access == "operators"
