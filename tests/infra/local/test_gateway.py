"""The gateway against a small backend: bodiless answers free their connection, and the
path reaches the function exactly as the client encoded it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from werkzeug.test import Client

from infra.local.gateway import Gateway


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        return


def backend(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["REQUEST_METHOD"] == "DELETE":
        start_response("204 No Content", [])
        return []
    # The raw request line's target, as the server received it.
    target = environ.get("RAW_URI") or environ["PATH_INFO"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [target.encode()]


@pytest.fixture
def gateway() -> Iterator[Client]:
    server = make_server("127.0.0.1", 0, backend, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway = Gateway({"/v1/things": f"http://127.0.0.1:{server.server_port}"})
    # A pool of two: a connection leaked per request would exhaust it at once.
    gateway.client = httpx.Client(
        limits=httpx.Limits(max_connections=2), timeout=httpx.Timeout(5, pool=2)
    )
    yield Client(gateway)
    server.shutdown()
    server.server_close()


def test_bodiless_answers_release_their_connection(gateway: Client) -> None:
    statuses = [gateway.delete("/v1/things/x").status_code for _ in range(10)]

    assert statuses == [204] * 10


def test_unknown_prefixes_are_a_json_404(gateway: Client) -> None:
    response = gateway.get("/v1/elsewhere")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_its_own_answers_carry_cors_for_configured_origins(gateway: Client) -> None:
    allowed = gateway.get("/v1/elsewhere", headers={"Origin": "https://app.example.test"})
    other = gateway.get("/v1/elsewhere", headers={"Origin": "https://evil.example"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.test"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_root_page_does_not_catch_other_paths() -> None:
    routes = {"/": "http://console", "/console": "http://console", "/v1/things": "http://api"}
    router = Gateway(routes)

    assert router.backend_for("/") == "http://console"
    assert router.backend_for("/console/js/app.js") == "http://console"
    assert router.backend_for("/v1/things/1") == "http://api"
    assert router.backend_for("/v1/unknown") is None
    assert router.backend_for("/docs") is None


@pytest.mark.parametrize("path", ["/healthz", "/nowhere"])
def test_its_own_answers_carry_the_security_headers(gateway: Client, path: str) -> None:
    from shared.web.headers import SECURITY_HEADERS

    response = gateway.get(path)

    assert {k: response.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS


# -- the figures the operator tools read (platform_status under `make run`) -----------------

OPERATOR = {"Authorization": "Bearer e2e-admin-token-0123456789"}  # tests/conftest.py


def test_relayed_requests_are_counted_per_backend_with_their_5xx(gateway: Client) -> None:
    routes = dict(gateway.application.routes)
    backend_url = routes["/v1/things"]
    for _ in range(3):
        gateway.get("/v1/things/a")
    gateway.delete("/v1/things/b")
    gateway.application.routes.append(("/v1/gone", "http://127.0.0.1:9"))  # nothing listens
    assert gateway.get("/v1/gone/x").status_code == 503

    answer = gateway.get("/_stack/requests?minutes=5", headers=OPERATOR)

    assert answer.status_code == 200
    backends = answer.get_json()["backends"]
    assert backends[backend_url]["requests"] == 4
    assert backends[backend_url]["errors5xx"] == 0
    assert backends[backend_url]["p95Ms"] >= 0
    assert backends["http://127.0.0.1:9"] == {
        "requests": 1,
        "errors5xx": 1,
        "p95Ms": backends["http://127.0.0.1:9"]["p95Ms"],
    }


def test_the_figures_are_for_the_operator_token_only(gateway: Client, settings: Any) -> None:
    anonymous = gateway.get("/_stack/requests")
    wrong = gateway.get("/_stack/requests", headers={"Authorization": "Bearer nope"})
    settings(ADMIN_TOKEN=None)
    unset = gateway.get("/_stack/requests", headers=OPERATOR)

    assert (anonymous.status_code, wrong.status_code, unset.status_code) == (401, 401, 404)


def test_the_p95_is_the_nearest_rank_of_the_window() -> None:
    from infra.local.gateway import RequestLog

    log = RequestLog()
    for ms in range(1, 101):
        log.record("http://f", 200 if ms % 10 else 500, ms / 1000)

    assert log.figures(1)["http://f"] == {"requests": 100, "errors5xx": 10, "p95Ms": 95.0}
