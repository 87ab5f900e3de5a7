"""The README stays a front door, and every page it leads to exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_at_most_12_kb() -> None:
    assert (ROOT / "README.md").stat().st_size <= 12 * 1024


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    links = [link for link in LINK.findall(page.read_text()) if "://" not in link]

    missing = [link for link in links if not (page.parent / link).exists()]

    assert missing == []


def test_every_docs_page_is_reachable_from_the_readme() -> None:
    reached: set[Path] = set()
    pending = [ROOT / "README.md"]
    while pending:
        page = pending.pop()
        if page in reached or page.suffix != ".md" or not page.exists():
            continue
        reached.add(page)
        pending += [(page.parent / link).resolve() for link in LINK.findall(page.read_text())]

    unreached = [p.relative_to(ROOT).as_posix() for p in PAGES if p.resolve() not in reached]
    assert unreached == []
