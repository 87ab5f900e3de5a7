"""The HTTP edge: routing, errors, limits, headers, CORS and OpenAPI, on a small Api."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from pydantic import Field
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from shared.core import errors
from shared.core.errors import is_transient
from shared.core.models import ApiModel, RequestModel
from shared.web.api import SECURITY_HEADERS, Api, Call, Reply


class ThingCreate(RequestModel):
    name: str = Field(min_length=1, max_length=10)
    tag_count: int = Field(0, ge=0)


class ThingQuery(RequestModel):
    limit: int = Field(20, ge=1, le=100)


class ThingPublic(ApiModel):
    thing_id: str
    name: str


def build_api() -> Api:
    api = Api("things")

    @api.route(
        "/v1/things",
        methods=["POST"],
        body=ThingCreate,
        response=ThingPublic,
        status=201,
        public=True,
    )
    def create(call: Call) -> ThingPublic:
        return ThingPublic(thing_id="t1", name=call.body.name)

    @api.route("/v1/things", query=ThingQuery, public=True)
    def listing(call: Call) -> Reply:
        return Reply({"limit": call.query.limit})

    @api.route("/v1/things/<thing_id>", response=ThingPublic, public=True)
    def get(call: Call) -> ThingPublic:
        if call.params["thing_id"] == "missing":
            raise errors.NotFound("thing 'missing' does not exist")
        if call.params["thing_id"] == "busy":
            raise errors.RateLimited("slow down", retry_after=7)
        if call.params["thing_id"] == "boom":
            raise RuntimeError("secret internals")
        return ThingPublic(thing_id=call.params["thing_id"], name="x")

    @api.route(
        "/v1/private", auth=lambda request: (_ for _ in ()).throw(errors.Unauthenticated("no"))
    )
    def private(call: Call) -> None:
        return None

    return api


@pytest.fixture
def client() -> Client:
    api = build_api()

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        response: Response = api(Request(environ))
        return response(environ, start_response)

    return Client(wsgi)


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response.get_data())["error"]
    return body


def test_valid_body_reaches_the_handler_and_answers_camel_case(client: Client) -> None:
    response = client.post("/v1/things", json={"name": "lamp", "tagCount": 2})

    assert response.status_code == 201
    assert json.loads(response.get_data()) == {"thingId": "t1", "name": "lamp"}


def test_field_errors_name_the_field(client: Client) -> None:
    response = client.post("/v1/things", json={"name": ""})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert [detail["field"] for detail in error["details"]] == ["name"]


def test_a_json_array_body_is_a_400(client: Client) -> None:
    response = client.post("/v1/things", json=[1, 2])

    assert response.status_code == 400
    assert "JSON object" in error_of(response)["message"]


def test_query_is_validated(client: Client) -> None:
    assert json.loads(client.get("/v1/things?limit=5").get_data()) == {"limit": 5}
    response = client.get("/v1/things?limit=500")
    assert response.status_code == 400
    assert error_of(response)["details"][0]["field"] == "limit"


def test_platform_errors_map_to_their_status(client: Client) -> None:
    missing = client.get("/v1/things/missing")
    busy = client.get("/v1/things/busy")

    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
    assert busy.status_code == 429
    assert busy.headers["Retry-After"] == "7"


def test_unexpected_errors_are_a_500_without_internals(client: Client) -> None:
    response = client.get("/v1/things/boom")

    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert error_of(response)["requestId"] == response.headers["X-Request-Id"]


def test_authenticator_failure_is_a_401_with_www_authenticate(client: Client) -> None:
    response = client.get("/v1/private")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_response_carries_security_headers_and_a_request_id(client: Client) -> None:
    for response in (
        client.get("/v1/things/a"),
        client.get("/nowhere"),
        client.get("/v1/things/boom"),
    ):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert len(response.headers["X-Request-Id"]) >= 8


def test_a_well_formed_incoming_request_id_is_kept(client: Client) -> None:
    response = client.get("/v1/things/a", headers={"X-Request-Id": "req-1234567890"})

    assert response.headers["X-Request-Id"] == "req-1234567890"


def test_a_malformed_incoming_request_id_is_replaced(client: Client) -> None:
    response = client.get("/v1/things/a", headers={"X-Request-Id": "<script>"})

    assert response.headers["X-Request-Id"] != "<script>"


def test_cors_answers_configured_origins_only(client: Client) -> None:
    allowed = client.get("/v1/things/a", headers={"Origin": "https://app.example.test"})
    other = client.get("/v1/things/a", headers={"Origin": "https://evil.example"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.test"
    assert "Access-Control-Allow-Origin" not in other.headers


def test_preflight_from_an_allowed_origin_lists_methods(client: Client) -> None:
    response = client.options(
        "/v1/things",
        headers={"Origin": "https://app.example.test", "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 204
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_preflight_from_another_origin_is_refused(client: Client) -> None:
    response = client.options(
        "/v1/things",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_body_over_the_limit_is_a_413_before_parsing(client: Client) -> None:
    response = client.post("/v1/things", data=b"x" * (65 * 1024), content_type="application/json")

    assert response.status_code == 413


def test_chunked_body_over_the_limit_is_a_413(client: Client) -> None:
    response = client.post(
        "/v1/things",
        input_stream=io.BytesIO(b"x" * (65 * 1024)),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        # gunicorn marks de-chunked input as terminated; without it werkzeug reads nothing.
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 413


def test_wrong_content_type_is_a_415(client: Client) -> None:
    response = client.post(
        "/v1/things", data="name=x", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_openapi_document_describes_routes_models_and_errors(client: Client) -> None:
    document = json.loads(client.get("/openapi.json").get_data())

    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/v1/things", "/v1/things/{thingId}", "/v1/private"}
    post = document["paths"]["/v1/things"]["post"]
    body_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert set(body_schema["properties"]) == {"name", "tagCount"}
    assert {"201", "400", "413", "415"} <= set(post["responses"])
    get = document["paths"]["/v1/things/{thingId}"]["get"]
    assert get["parameters"][0] == {
        "name": "thingId",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    assert "security" in document["paths"]["/v1/private"]["get"]


@pytest.mark.parametrize(
    ("module", "name", "transient"),
    [
        ("google.api_core.exceptions", "ServiceUnavailable", True),
        ("google.api_core.exceptions", "DeadlineExceeded", True),
        ("google.api_core.exceptions", "PermissionDenied", False),
        ("builtins", "ValueError", False),
    ],
)
def test_transient_google_errors_are_recognised_by_name(
    module: str, name: str, transient: bool
) -> None:
    kind = type(name, (Exception,), {"__module__": module})

    assert is_transient(kind("x")) is transient


def test_deeply_nested_json_is_a_400_not_a_500(client: Client) -> None:
    response = client.post(
        "/v1/things", data=b'{"name":' + b"[" * 30_000, content_type="application/json"
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"
