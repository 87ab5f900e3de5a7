"""The manifest and `functions/` agree: every entry exists, every function is deployed."""

from __future__ import annotations

import ast
from collections import Counter

import pytest

from infra.manifest import ROOT, Entry, load

MANIFEST = load()
ENTRIES = MANIFEST.functions


def decorated_functions(entry: Entry) -> dict[str, str]:
    """Top-level functions of an entry's main.py and the functions_framework decorator on each."""
    tree = ast.parse(entry.main_path.read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Attribute)
                    and isinstance(decorator.value, ast.Name)
                    and decorator.value.id == "functions_framework"
                ):
                    found[node.name] = decorator.attr
    return found


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_entry_point_exists_with_the_decorator_of_its_trigger(entry: Entry) -> None:
    assert entry.main_path.exists(), f"{entry.name}: {entry.main_path} is missing"
    decorators = decorated_functions(entry)

    expected = "http" if entry.is_http else "cloud_event"
    assert decorators.get(entry.entry_point) == expected


def test_every_function_folder_is_in_the_manifest() -> None:
    folders = {p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("functions/*/main.py")}

    assert folders == {entry.source for entry in ENTRIES}


def test_names_are_unique() -> None:
    duplicated = [name for name, n in Counter(e.name for e in ENTRIES).items() if n > 1]

    assert duplicated == []


def test_http_prefixes_are_versioned_and_served_once() -> None:
    prefixes = [
        p for e in MANIFEST.http_entries() for p in (e.trigger.http.paths if e.trigger.http else [])
    ]
    # The console's pages, and /mcp, where MCP clients expect the server by convention.
    outside_api = {"/", "/console", "/mcp"}

    assert all(prefix.startswith("/v1/") for prefix in prefixes if prefix not in outside_api)
    assert len(prefixes) == len(set(prefixes))


def test_only_the_console_serves_paths_outside_the_api() -> None:
    outside = {
        entry.name
        for entry in MANIFEST.http_entries()
        if entry.trigger.http and any(not p.startswith("/v1/") for p in entry.trigger.http.paths)
    }

    assert outside == {"console", "mcp"}


def test_every_pubsub_entry_has_a_topic_and_no_public_access() -> None:
    for entry in MANIFEST.pubsub_entries():
        assert entry.trigger.pubsub is not None
        assert entry.access == "pubsub", entry.name
