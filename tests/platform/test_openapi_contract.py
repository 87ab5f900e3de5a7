"""The merged public contract as a product: a real OpenAPI linter (Redocly, from npm, pinned
in package.json) finds no error in it, and a client generated from it (openapi-python-client)
still creates a session, an agent and a conversation against the functions in process."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.web.openapi import merge_documents
from tests.conftest import ROOT
from tests.platform.http_functions import HTTP_ENTRIES, loaded

REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"


def merged() -> dict[str, Any]:
    documents = []
    for entry in HTTP_ENTRIES:
        client = loaded(entry.name).app.test_client()
        documents.append(client.get("/openapi.json").get_json())
    return merge_documents(documents)


@pytest.fixture(scope="module")
def document(emulators: Any) -> dict[str, Any]:
    return merged()


def test_redocly_finds_no_error_in_the_merged_document(
    document: dict[str, Any], tmp_path: Path
) -> None:
    assert REDOCLY.exists(), "run `make node-tools` (make test does) to install the linter"
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document))

    result = subprocess.run(
        [str(REDOCLY), "lint", str(spec), "--format=json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )

    report = json.loads(result.stdout[result.stdout.index("{") :])
    problems = [p for p in report["problems"] if p["severity"] == "error"]
    assert problems == [], json.dumps(problems, indent=1)[:4000]


def test_public_operations_declare_no_security_and_the_servers_are_listed(
    document: dict[str, Any],
) -> None:
    assert document["servers"]
    assert document["paths"]["/v1/sessions"]["post"]["security"] == []
    assert document["paths"]["/v1/webhooks/github"]["post"]["security"] == []
    agent_body = document["paths"]["/v1/agents"]["post"]["requestBody"]
    assert agent_body["required"] is True
    events = document["paths"]["/v1/conversations/{conversationId}/messages"]["post"]
    sse = events["responses"]["200"]["content"]["text/event-stream"]["schema"]
    names = {item["$ref"].rsplit("/", 1)[1] for item in sse["oneOf"]}
    assert names == {
        "MessageCreatedEvent",
        "MessageDeltaEvent",
        "ToolCallEvent",
        "ToolResultEvent",
        "MessageCompletedEvent",
        "StreamErrorEvent",
        "StreamDoneEvent",
    }


def test_every_operation_documents_its_deadline_503_with_retry_after(
    document: dict[str, Any],
) -> None:
    # No route is exempt from a deadline (the model-waiting ones have longer budgets).
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "Retry-After" not in operation["responses"].get("503", {}).get("headers", {})
    ]
    assert missing == []
    for path in ("/v1/conversations/{conversationId}/messages", "/v1/loadtests/runs"):
        assert "503" in document["paths"][path]["post"]["responses"]
    assert "503" in document["paths"]["/v1/personas/chat"]["post"]["responses"]


class Dispatcher:
    """One WSGI app for every HTTP function, routed by path prefix as the gateway does."""

    def __init__(self) -> None:
        self.apps = [
            (prefix, loaded(entry.name).app)
            for entry in HTTP_ENTRIES
            if entry.trigger.http is not None
            for prefix in entry.trigger.http.paths
        ]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        for prefix, app in self.apps:
            if path == prefix or path.startswith(prefix + "/"):
                return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no function"]


@pytest.fixture
def generated_client(document: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    assert generator, "openapi-python-client is a dev dependency (pyproject.toml)"
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document))
    subprocess.run(
        [
            generator,
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "platform_client"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        cwd=tmp_path,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("platform_client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == "platform_client"]:
            del sys.modules[name]


def test_a_generated_client_creates_a_session_an_agent_and_a_conversation(
    generated_client: Any, firestore_db: Any
) -> None:
    package = generated_client
    transport = httpx.WSGITransport(app=Dispatcher())
    base = package.Client(base_url="http://platform.test")
    base.set_httpx_client(httpx.Client(base_url="http://platform.test", transport=transport))
    api = importlib.import_module("platform_client.api")
    models = importlib.import_module("platform_client.models")
    operations = {
        name: importlib.import_module(f"platform_client.api.{tag}.{name}")
        for tag in [p.name for p in Path(api.__path__[0]).iterdir() if p.is_dir()]
        for name in [m.stem for m in (Path(api.__path__[0]) / tag).glob("*.py")]
    }

    session = _one(operations, "create_session").sync(client=base, body=models.EmptyBody())
    assert session.token
    authed = package.AuthenticatedClient(base_url="http://platform.test", token=session.token)
    authed.set_httpx_client(
        httpx.Client(
            base_url="http://platform.test",
            transport=transport,
            headers={"Authorization": f"Bearer {session.token}"},
        )
    )
    agent = _one(operations, "create_agent").sync(
        client=authed, body=models.AgentCreate(name="Generated")
    )
    conversation = _one(operations, "create_conversation").sync(
        client=authed, body=models.ConversationCreate(agent_id=agent.id)
    )

    assert agent.name == "Generated"
    assert conversation.agent_id == agent.id
    assert firestore_db.collection("conversations").document(conversation.id).get().exists


def _one(operations: dict[str, Any], handler: str) -> Any:
    found = [module for name, module in operations.items() if handler in name]
    assert len(found) == 1, (handler, sorted(operations))
    return found[0]
