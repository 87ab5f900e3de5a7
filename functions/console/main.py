"""The web console: one page at `/` and its static files under `/console/`, read once at
start and served with a strict Content Security Policy and an ETag. The page is a client
of the public API on the same origin; this function reads no Firestore and holds no secret.

It imports from `shared` only the security headers and the error classes, which import
nothing: the HTTP edge costs ~100 ms of imports a static page does not need at a cold start.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import NamedTuple

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.core import errors
from shared.web.headers import SECURITY_HEADERS

STATIC = Path(__file__).resolve().parent / "static"
ASSET_PREFIX = "/console/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; manifest-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    # Revalidate every time (304 when unchanged): a deploy is visible on the next load.
    "Cache-Control": "no-cache",
}


class StaticFile(NamedTuple):
    body: bytes
    content_type: str
    etag: str


def _load(folder: Path) -> dict[str, StaticFile]:
    """URL path -> file, for every file of a known type; nothing else is ever served."""
    files: dict[str, StaticFile] = {}
    for path in sorted(folder.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if not path.is_file() or content_type is None:
            continue
        body = path.read_bytes()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        files[ASSET_PREFIX + path.relative_to(folder).as_posix()] = StaticFile(
            body, content_type, etag
        )
    files["/"] = files[ASSET_PREFIX + "index.html"]
    return files


FILES = _load(STATIC)


def _refuse(error: errors.PlatformError) -> Response:
    """The contract's JSON error, as the shared HTTP edge answers it."""
    request_id = uuid.uuid4().hex
    body = json.dumps(error.body(request_id))
    response = Response(body, status=error.status, mimetype="application/json")
    response.headers.update({**SECURITY_HEADERS, **error.headers(), "X-Request-Id": request_id})
    return response


@functions_framework.http
def console(request: Request) -> Response:
    found = FILES.get(request.path)
    if found is None:
        return _refuse(errors.NotFound(f"no route matches {request.path}"))
    if request.method not in ("GET", "HEAD"):
        message = f"{request.method} is not allowed on {request.path}; allowed: GET, HEAD"
        return _refuse(errors.MethodNotAllowed(message, allowed=["GET", "HEAD"]))
    status = 304 if found.etag in request.headers.get("If-None-Match", "") else 200
    body = found.body if status == 200 else b""
    response = Response(body, status=status, content_type=found.content_type)
    response.headers.update({**PAGE_HEADERS, "ETag": found.etag})
    return response
