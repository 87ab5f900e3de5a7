"""A bare functions-framework function answering one page held in memory: the floor the
console function (static files, no Firestore) is compared against."""

from __future__ import annotations

from typing import Any

import functions_framework

PAGE = b"<!doctype html><title>bare</title><p>A page from memory.</p>"


@functions_framework.http
def bare_page(request: Any) -> tuple[bytes, int, dict[str, str]]:
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}
