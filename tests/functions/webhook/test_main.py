"""The GitHub webhook through functions-framework, against the Firestore and Pub/Sub emulators."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from shared.core import state
from shared.github import deliveries as github
from shared.messaging.topics import deploy_events
from tests.conftest import ROOT, LoadedFunction, load_function
from tests.support.pubsub import ensure_topic, pull_events, subscribe

DATA = ROOT / "tests" / "data" / "github"
SECRET = "current-webhook-secret"
PREVIOUS = "previous-webhook-secret"
PATH = "/v1/webhooks/github"


@pytest.fixture
def function(firestore_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoadedFunction]:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET_PREVIOUS", PREVIOUS)
    monkeypatch.setenv("GITHUB_WEBHOOK_MAX_BYTES", str(64 * 1024))
    monkeypatch.setenv("GITHUB_BRANCH_ENVIRONMENTS", "main=staging,hotfix=production")
    state.reset()
    ensure_topic(deploy_events.TOPIC)
    yield load_function("functions/webhook", "webhook")
    state.reset()


@pytest.fixture
def client(function: LoadedFunction) -> Any:
    return function.app.test_client()


@pytest.fixture
def deploys() -> str:
    return subscribe(deploy_events.TOPIC)


def payload(name: str) -> bytes:
    return (DATA / f"{name}.json").read_bytes()


def deliver(
    client: Any,
    event: str,
    body: bytes,
    *,
    secret: str | None = SECRET,
    delivery: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    sent = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery
        or f"{secrets.token_hex(4)}-1d2e-11f0-8a5b-{secrets.token_hex(6)}",
        "User-Agent": "GitHub-Hookshot/7d8e1f2",
    }
    if secret is not None:
        sent["X-Hub-Signature-256"] = github.signature_for(body, secret.encode())
    sent.update(headers or {})
    return client.post(PATH, data=body, headers=sent)


def test_signed_push_to_main_publishes_deploy_requested_for_staging(
    client: Any, deploys: str, firestore_db: Any
) -> None:
    response = deliver(client, "push", payload("push"), delivery="push-delivery-1")

    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    assert body["outcome"] == "published"
    assert body["eventType"] == deploy_events.REQUESTED
    [event] = pull_events(deploys)
    assert event.id == body["eventId"]
    data = event.data_as(deploy_events.DeployRequestedData)
    assert (data.environment, data.trigger, data.repository) == (
        "staging",
        "push",
        "acme/agent-platform",
    )
    assert data.sha == "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    assert data.delivery_id == "push-delivery-1"


def test_delivery_and_deployment_are_recorded(client: Any, firestore_db: Any) -> None:
    deliver(client, "push", payload("push"), delivery="push-delivery-2")

    record = (
        firestore_db.collection(github.DELIVERIES)
        .document(github.delivery_key("push-delivery-2"))
        .get()
        .to_dict()
    )
    assert record["outcome"] == "published"
    assert record["expiresAt"] > record["receivedAt"]
    deployment = (
        firestore_db.collection(github.DEPLOYMENTS).document(record["deploymentId"]).get().to_dict()
    )
    assert deployment["environments"]["staging"]["deliveryId"] == "push-delivery-2"
    assert deployment["status"] == "requested"


def test_published_event_leaves_nothing_in_the_outbox(client: Any, firestore_db: Any) -> None:
    deliver(client, "push", payload("push"))

    assert list(firestore_db.collection("outbox").stream()) == []


def test_push_is_kept_in_the_outbox_when_pubsub_fails(
    client: Any, firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(topic: str, event: Any) -> str:
        raise ConnectionError("pubsub is down")

    monkeypatch.setattr("shared.messaging.events.publish", refuse)

    response = deliver(client, "push", payload("push"))

    assert response.status_code == 202
    [staged] = list(firestore_db.collection("outbox").stream())
    assert staged.to_dict()["event"]["id"] == response.get_json()["eventId"]


def test_release_published_requests_a_production_deploy(client: Any, deploys: str) -> None:
    response = deliver(client, "release", payload("release_published"))

    assert response.status_code == 202
    [event] = pull_events(deploys)
    data = event.data_as(deploy_events.DeployRequestedData)
    assert (event.type, data.environment, data.release_tag) == (
        deploy_events.REQUESTED,
        "production",
        "v1.4.0",
    )


def test_completed_workflow_run_publishes_build_finished_with_conclusion(
    client: Any, deploys: str
) -> None:
    response = deliver(client, "workflow_run", payload("workflow_run_completed"))

    assert response.status_code == 202
    [event] = pull_events(deploys)
    data = event.data_as(deploy_events.BuildFinishedData)
    assert (event.type, data.conclusion, data.workflow, data.run_id) == (
        deploy_events.BUILD_FINISHED,
        "failure",
        "CI",
        11987654321,
    )


def test_merged_pull_request_publishes_deploy_merged(client: Any, deploys: str) -> None:
    response = deliver(client, "pull_request", payload("pull_request_merged"))

    assert response.status_code == 202
    [event] = pull_events(deploys)
    data = event.data_as(deploy_events.MergedData)
    assert (event.type, data.pull_request, data.base) == (deploy_events.MERGED, 57, "main")


def test_ping_answers_200_and_publishes_nothing(client: Any, deploys: str) -> None:
    response = deliver(client, "ping", payload("ping"))

    assert response.status_code == 200
    assert response.get_json()["outcome"] == "ping"
    assert pull_events(deploys, timeout=1) == []


@pytest.mark.parametrize(("event", "name"), [("issues", "issues_opened"), ("star", "star_created")])
def test_unhandled_signed_events_are_accepted_and_recorded_as_ignored(
    client: Any, deploys: str, firestore_db: Any, event: str, name: str
) -> None:
    response = deliver(client, event, payload(name), delivery=f"{name}-1")

    assert response.status_code == 202
    assert response.get_json()["outcome"] == "ignored"
    record = firestore_db.collection(github.DELIVERIES).document(github.delivery_key(f"{name}-1"))
    assert record.get().to_dict()["outcome"] == "ignored"
    assert pull_events(deploys, timeout=1) == []


def test_push_to_an_unmapped_branch_is_ignored(client: Any, deploys: str) -> None:
    body = json.loads(payload("push"))
    body["ref"] = "refs/heads/feature/personas"

    response = deliver(client, "push", json.dumps(body).encode())

    assert response.status_code == 202
    assert "not mapped" in response.get_json()["reason"]
    assert pull_events(deploys, timeout=1) == []


def test_push_to_a_second_mapped_branch_uses_its_environment(client: Any, deploys: str) -> None:
    body = json.loads(payload("push"))
    body["ref"] = "refs/heads/hotfix"

    deliver(client, "push", json.dumps(body).encode())

    [event] = pull_events(deploys)
    assert event.data["environment"] == "production"


def test_redelivery_answers_duplicate_and_publishes_nothing(client: Any, deploys: str) -> None:
    first = deliver(client, "push", payload("push"), delivery="same-delivery")
    second = deliver(client, "push", payload("push"), delivery="same-delivery")

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.get_json()["duplicate"] is True
    assert len(pull_events(deploys)) == 1


def test_a_signed_push_replayed_under_a_new_delivery_id_does_nothing_again(
    client: Any, deploys: str, firestore_db: Any
) -> None:
    body = payload("push")

    first = deliver(client, "push", body, delivery="original-delivery")
    replay = deliver(client, "push", body, delivery="replayed-under-a-new-id")

    assert first.status_code == 202
    assert replay.status_code == 200
    assert replay.get_json()["duplicate"] is True
    assert "another delivery id" in replay.get_json()["reason"]
    assert len(pull_events(deploys)) == 1
    replayed = github.delivery_key("replayed-under-a-new-id")
    assert not firestore_db.collection(github.DELIVERIES).document(replayed).get().exists
    [deployment] = [d.to_dict() for d in firestore_db.collection(github.DEPLOYMENTS).stream()]
    assert deployment["environments"]["staging"]["deliveryId"] == "original-delivery"


def test_a_replay_signed_with_the_previous_secret_is_still_a_duplicate(
    client: Any, deploys: str
) -> None:
    body = payload("release_published")

    first = deliver(client, "release", body, secret=SECRET)
    replay = deliver(client, "release", body, secret=PREVIOUS)

    assert (first.status_code, replay.status_code) == (202, 200)
    assert replay.get_json()["duplicate"] is True
    assert len(pull_events(deploys)) == 1


def test_the_signed_body_is_remembered_as_long_as_the_delivery_id(
    client: Any, firestore_db: Any
) -> None:
    body = payload("push")

    deliver(client, "push", body, delivery="remembered")

    kept = firestore_db.collection(github.DELIVERIES).document(github.body_key(body)).get()
    delivery = firestore_db.collection(github.DELIVERIES).document(
        github.delivery_key("remembered")
    )
    assert kept.to_dict()["deliveryId"] == "remembered"
    assert kept.to_dict()["expiresAt"] == delivery.get().to_dict()["expiresAt"]
    assert body.decode() not in str(kept.to_dict())


def test_a_changed_body_under_a_new_delivery_id_is_a_new_delivery(
    client: Any, deploys: str
) -> None:
    body = json.loads(payload("push"))
    first = deliver(client, "push", json.dumps(body).encode())
    body["after"] = "1" * 40
    second = deliver(client, "push", json.dumps(body).encode())

    assert (first.status_code, second.status_code) == (202, 202)
    assert len(pull_events(deploys)) == 2


def test_previous_secret_is_accepted_during_a_rotation(client: Any) -> None:
    response = deliver(client, "push", payload("push"), secret=PREVIOUS)

    assert response.status_code == 202


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": "sha1=" + "0" * 40},
        {"X-Hub-Signature-256": "garbage"},
    ],
    ids=["missing", "wrong", "sha1", "malformed"],
)
def test_missing_or_wrong_signature_is_401_and_records_nothing(
    client: Any, firestore_db: Any, headers: dict[str, str]
) -> None:
    response = deliver(client, "push", payload("push"), secret=None, headers=headers)

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert list(firestore_db.collection(github.DELIVERIES).stream()) == []


def test_signature_of_another_secret_is_401(client: Any) -> None:
    response = deliver(client, "push", payload("push"), secret="someone-elses-secret")

    assert response.status_code == 401


def test_body_changed_after_signing_is_401(client: Any) -> None:
    body = payload("push")
    signature = github.signature_for(body, SECRET.encode())
    tampered = body.replace(b"refs/heads/main", b"refs/heads/prod")

    response = deliver(
        client, "push", tampered, secret=None, headers={"X-Hub-Signature-256": signature}
    )

    assert response.status_code == 401


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_github_headers_are_400(client: Any, missing: str) -> None:
    response = deliver(client, "push", payload("push"), headers={missing: ""})

    assert response.status_code == 400


def test_signed_body_that_is_not_json_is_400(client: Any) -> None:
    response = deliver(client, "push", b"payload=%7B%22zen%22%7D")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(
    "body",
    [b"[" * 50_000, b'{"a":' * 8_000 + b"1" + b"}" * 8_000],
    ids=["open-arrays", "nested-objects"],
)
def test_signed_deeply_nested_json_is_400_not_500(client: Any, body: bytes) -> None:
    response = deliver(client, "push", body)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


def test_body_over_the_limit_is_413(client: Any) -> None:
    body = json.dumps({"padding": "x" * (64 * 1024)}).encode()

    response = deliver(client, "push", body)

    assert response.status_code == 413


def test_no_secret_configured_refuses_every_delivery(
    function: LoadedFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET_PREVIOUS")
    state.reset()

    response = deliver(function.app.test_client(), "push", payload("push"))

    assert response.status_code == 401


def test_deliveries_for_one_commit_build_up_one_deployment_record(
    client: Any, firestore_db: Any
) -> None:
    push = deliver(client, "push", payload("push"), delivery="merge-push")
    build = deliver(
        client, "workflow_run", payload("workflow_run_completed"), delivery="merge-build"
    )

    assert (push.status_code, build.status_code) == (202, 202)
    [record] = [s.to_dict() for s in firestore_db.collection(github.DEPLOYMENTS).stream()]
    assert record["environments"]["staging"]["status"] == "requested"
    assert record["build"]["conclusion"] == "failure"  # the recorded workflow run failed
    assert record["lastEventType"] == deploy_events.BUILD_FINISHED
