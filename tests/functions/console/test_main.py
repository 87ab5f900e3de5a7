"""The console function through functions-framework: the page, its files, their headers,
and what the Content Security Policy demands of the markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.conftest import ROOT, LoadedFunction, load_function

STATIC = ROOT / "functions" / "console" / "static"


@pytest.fixture(scope="module")
def function() -> LoadedFunction:
    return load_function("functions/console", "console")


@pytest.fixture
def client(function: LoadedFunction) -> Any:
    return function.app.test_client()


class Markup(HTMLParser):
    """Tags with their attributes, and the ids that a <label for> names."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def markup() -> Markup:
    parsed = Markup()
    parsed.feed((STATIC / "index.html").read_text())
    return parsed


def test_root_serves_the_page_with_a_strict_content_security_policy(client: Any) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers.getlist("Content-Security-Policy") == [policy]


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/console/js/app.js", "text/javascript"),
        ("/console/styles.css", "text/css"),
        ("/console/icon.svg", "image/svg+xml"),
    ],
)
def test_files_are_served_with_their_type(client: Any, path: str, mimetype: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.mimetype == mimetype


def test_an_unchanged_file_answers_304_to_its_etag(client: Any) -> None:
    etag = client.get("/console/styles.css").headers["ETag"]

    again = client.get("/console/styles.css", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.data == b""


@pytest.mark.parametrize("path", ["/v1/agents", "/docs", "/console/../main.py", "/console/"])
def test_other_paths_get_the_contracts_json_404(client: Any, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_writes_are_refused_with_405_and_allow(client: Any) -> None:
    response = client.post("/")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_markup_has_no_inline_script_style_or_handlers() -> None:
    for tag, attrs in markup().tags:
        assert "style" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), tag
        if tag == "script":
            assert attrs.get("src"), "inline scripts are refused by the CSP"
    assert "<style" not in (STATIC / "index.html").read_text()


def test_every_form_control_has_a_label() -> None:
    tags = markup().tags
    labelled = {attrs.get("for") for tag, attrs in tags if tag == "label"}
    controls = [
        attrs
        for tag, attrs in tags
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden"
    ]

    assert controls
    assert all(attrs.get("id") in labelled or attrs.get("aria-label") for attrs in controls)


def test_no_script_turns_a_string_into_markup() -> None:
    """Answers, names and titles reach the page as text nodes only: no HTML parser is used."""
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment"
        r"|srcdoc|\beval\(|new Function"
    )
    found = {
        script.name: sinks.findall(script.read_text())
        for script in (STATIC / "js").rglob("*.js")
        if sinks.search(script.read_text())
    }

    assert found == {}


def test_every_module_import_is_a_file_the_function_serves(function: LoadedFunction) -> None:
    served = set(function.module.FILES)
    for script in (STATIC / "js").rglob("*.js"):
        for target in re.findall(r'^import .* from "(\.[^"]+)";$', script.read_text(), re.M):
            resolved = (script.parent / target).resolve().relative_to(STATIC)
            assert f"/console/{resolved.as_posix()}" in served, (script.name, target)


def test_korean_text_exists_for_every_english_message() -> None:
    source = (STATIC / "js" / "i18n.js").read_text()
    english, korean = source.split("\n  ko: {\n")
    keys = set(re.findall(r"^    (\w+):", english, re.M))

    assert keys
    assert keys == set(re.findall(r"^    (\w+):", korean, re.M))


def test_security_headers_are_the_shared_edges_with_a_page_policy(
    function: LoadedFunction,
) -> None:
    from shared.web.headers import SECURITY_HEADERS

    page = function.module.PAGE_HEADERS
    overridden = {"Content-Security-Policy", "Cache-Control"}
    assert {k: v for k, v in page.items() if k in SECURITY_HEADERS and k not in overridden} == {
        k: v for k, v in SECURITY_HEADERS.items() if k not in overridden
    }


def test_errors_have_the_shape_of_the_shared_edges(client: Any) -> None:
    from shared.core import errors
    from shared.web.bodies import error_response

    mine = client.get("/nowhere")
    edge = error_response(errors.NotFound("no route matches /nowhere"), "r" * 32)

    assert mine.get_json()["error"].keys() == edge.get_json()["error"].keys()
    assert mine.get_json()["error"]["code"] == edge.get_json()["error"]["code"]
    assert mine.headers["X-Request-Id"] == mine.get_json()["error"]["requestId"]
