"""`Idempotency-Key` on a small Api against the Firestore emulator: replay, 422, 409, release."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from pydantic import Field
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from shared.core import errors
from shared.core.models import ApiModel, RequestModel
from shared.web import idempotency
from shared.web.api import Api, Call


class ThingCreate(RequestModel):
    name: str = Field(min_length=1, max_length=10)


class ThingPublic(ApiModel):
    thing_id: str
    name: str


class Things:
    def __init__(self) -> None:
        self.created: list[str] = []
        self.release = threading.Event()
        self.release.set()
        self.fail_with: errors.PlatformError | None = None

    def api(self) -> Api:
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
            self.release.wait(10)
            if self.fail_with is not None:
                raise self.fail_with
            self.created.append(call.body.name)
            return ThingPublic(thing_id=f"t{len(self.created)}", name=call.body.name)

        @api.route("/v1/others", methods=["POST"], status=200, public=True)
        def not_idempotent(call: Call) -> None:
            self.created.append("other")

        return api


@pytest.fixture
def things(firestore_db: Any) -> Things:
    return Things()


def serve(api: Api) -> Client:
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        response: Response = api(Request(environ))
        return response(environ, start_response)

    return Client(wsgi)


@pytest.fixture
def client(things: Things) -> Client:
    return serve(things.api())


def post(client: Client, key: str, name: str = "one") -> Any:
    return client.post("/v1/things", json={"name": name}, headers={idempotency.HEADER: key})


def test_a_replay_answers_the_first_response_and_runs_once(
    client: Client, things: Things, firestore_db: Any
) -> None:
    first = post(client, "key-1")
    again = post(client, "key-1")

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() == {"thingId": "t1", "name": "one"}
    assert again.headers[idempotency.REPLAYED] == "true"
    assert idempotency.REPLAYED not in first.headers
    assert things.created == ["one"]
    [stored] = list(firestore_db.collection(idempotency.COLLECTION).stream())
    assert stored.to_dict()["expiresAt"] > stored.to_dict()["createdAt"]


def test_key_order_in_the_body_does_not_matter_but_another_key_runs_again(
    client: Client, things: Things
) -> None:
    post(client, "key-1")
    same = client.post(
        "/v1/things",
        data='{ "name" : "one" }',
        content_type="application/json",
        headers={idempotency.HEADER: "key-1"},
    )
    other = post(client, "key-2")

    assert same.headers.get(idempotency.REPLAYED) == "true"
    assert other.get_json()["thingId"] == "t2"
    assert things.created == ["one", "one"]


def test_the_same_key_with_another_body_is_422(client: Client, things: Things) -> None:
    post(client, "key-1", "one")

    response = post(client, "key-1", "two")

    assert response.status_code == 422
    assert "another request body" in response.get_json()["error"]["message"]
    assert things.created == ["one"]


def test_the_same_key_asking_for_a_stream_instead_is_422(client: Client, things: Things) -> None:
    post(client, "key-1", "one")

    streamed = client.post(
        "/v1/things",
        json={"name": "one"},
        headers={idempotency.HEADER: "key-1", "Accept": "text/event-stream"},
    )

    assert streamed.status_code == 422  # not the stored JSON under a stream's request
    assert things.created == ["one"]


def test_a_duplicate_while_the_first_runs_is_409(things: Things, firestore_db: Any) -> None:
    things.release.clear()
    api = things.api()
    answers: list[int] = []
    first = threading.Thread(target=lambda: answers.append(post(serve(api), "k").status_code))
    first.start()
    try:
        keys = firestore_db.collection(idempotency.COLLECTION)
        for _ in range(500):  # until the first request has claimed the key
            if list(keys.limit(1).stream()):
                break
            time.sleep(0.01)
        duplicate = post(serve(api), "k")
    finally:
        things.release.set()
        first.join(10)

    assert duplicate.status_code == 409
    assert answers == [201]
    assert things.created == ["one"]
    assert post(serve(api), "k").headers[idempotency.REPLAYED] == "true"


def test_an_error_releases_the_key_so_a_retry_runs(client: Client, things: Things) -> None:
    things.fail_with = errors.DependencyUnavailable("down")
    failed = post(client, "key-1")
    things.fail_with = None

    retried = post(client, "key-1")

    assert failed.status_code == 503 and "Retry-After" in failed.headers
    assert retried.status_code == 201 and idempotency.REPLAYED not in retried.headers
    assert things.created == ["one"]


def test_a_malformed_key_is_400(client: Client) -> None:
    assert post(client, "x" * 256).status_code == 400


def test_without_a_key_or_on_other_routes_nothing_is_stored(
    client: Client, things: Things, firestore_db: Any
) -> None:
    post_plain = client.post("/v1/things", json={"name": "one"})
    client.post("/v1/others", headers={idempotency.HEADER: "k"})
    client.post("/v1/others", headers={idempotency.HEADER: "k"})

    assert post_plain.status_code == 201
    assert things.created == ["one", "other", "other"]
    assert list(firestore_db.collection(idempotency.COLLECTION).stream()) == []
