"""Entity tags: a quoted opaque string per version, and how If-Match lists are read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from shared.core import errors
from shared.web import etags

VERSION = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)


def test_an_etag_is_a_strong_quoted_opaque_string() -> None:
    tag = etags.etag_of(VERSION)

    assert re.fullmatch(r'"[0-9a-f]{24}"', tag)
    assert tag == etags.etag_of(VERSION.isoformat())  # the same version, however given
    assert tag != etags.etag_of(datetime(2026, 12, 1, 5, 31, tzinfo=UTC))


@pytest.mark.parametrize("if_match", [None, "*", 'W/"x", {tag}', '"other", {tag}'])
def test_if_match_admits_a_listed_tag_or_a_wildcard(if_match: str | None) -> None:
    tag = etags.etag_of(VERSION)

    etags.check_if_match(if_match.format(tag=tag) if if_match else None, tag)


@pytest.mark.parametrize("if_match", ['"other"', '"a", "b"', "**", "", "W/{tag}"])
def test_if_match_without_the_current_strong_tag_is_412(if_match: str) -> None:
    if_match = if_match.format(tag=etags.etag_of(VERSION))
    with pytest.raises(errors.PreconditionFailed):
        etags.check_if_match(if_match, etags.etag_of(VERSION))
