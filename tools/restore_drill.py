"""The restore drill (`make restore-drill`): fill a Firestore emulator through the platform's
own entry points, export it, destroy it, import the export into a new emulator, and prove
through the same API that every session, agent, conversation, message and counter came
back. It prints what it restored and how long each step took.

The steps mirror docs/restore.md: production exports are managed backups (daily and weekly,
infra/modules/firestore) restored into a new database; the emulator's REST export and
`--import-data` stand in for them here. Nothing leaves 127.0.0.1.

What is compared, before and after:
- every answer of the read API for every guest (session, agents with their run statistics,
  dashboard totals, conversations, every message), with its ETag;
- every document of the database, recursively (paths and fields), so counters that no
  route shows (spend meters, quotas, processed-event records, the outbox) are covered too.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local.emulators import (
    EmulatorError,
    _http_ok,
    binaries,
    free_port,
    stop_processes,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "demo-restore-drill"
DATABASE = f"projects/{PROJECT}/databases/(default)"
START_TIMEOUT = 120.0


class DrillFailed(RuntimeError):
    """Something did not come back as it was."""


@dataclass
class Emulator:
    """One emulator process (Firestore or Pub/Sub) on its own port."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_processes([self.process])


def start_firestore(work: Path, import_from: Path | None = None) -> Emulator:
    firestore_bin, _ = binaries()
    port = free_port()
    command = [
        str(firestore_bin),
        "start",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--project_id={PROJECT}",
    ]
    if import_from is not None:
        command.append(f"--import-data={import_from}")
    return _start("firestore", command, port, work)


def start_pubsub(work: Path) -> Emulator:
    _, pubsub_bin = binaries()
    port = free_port()
    data = work / "pubsub-data"
    data.mkdir(exist_ok=True)
    command = [str(pubsub_bin), "--host=127.0.0.1", f"--port={port}", f"--data-dir={data}"]
    return _start("pubsub", command, port, work)


def _start(name: str, command: list[str], port: int, work: Path) -> Emulator:
    log = work / f"{name}-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    emulator = Emulator(name, port, process, log)
    try:
        wait_for(
            lambda: _http_ok(f"http://127.0.0.1:{port}/"),
            START_TIMEOUT,
            f"{name} emulator (log: {log})",
            process,
        )
    except EmulatorError:
        emulator.stop()
        raise
    return emulator


def export(firestore: Emulator, directory: Path) -> Path:
    """The emulator's REST export; returns the metadata file `--import-data` takes."""
    directory.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(
        f"http://{firestore.host}/emulator/v1/projects/{PROJECT}:export",
        data=json.dumps({"database": DATABASE, "export_directory": str(directory)}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - 127.0.0.1
        response.read()
    found = sorted(directory.glob("firestore_export_*/*.overall_export_metadata"))
    if not found:
        raise DrillFailed(f"the export wrote no metadata file under {directory}")
    return found[-1]


# --- the platform, in this process ---------------------------------------------------------


def use_emulators(firestore: Emulator, pubsub: Emulator | None) -> None:
    """Point the platform's clients at these emulators (and forget every cached client)."""
    from shared.core import state

    os.environ["FIRESTORE_EMULATOR_HOST"] = firestore.host
    if pubsub is not None:
        os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
    state.reset()


@dataclass
class Platform:
    """The entry points the drill drives, served by functions-framework in this process."""

    sessions: Any
    agents: Any
    chat: Any
    stats: Any

    @classmethod
    def load(cls) -> Platform:
        from functions_framework import create_app

        def app(source: str, target: str, signature: str = "http") -> Any:
            return create_app(target, str(ROOT / source / "main.py"), signature).test_client()

        return cls(
            sessions=app("functions/guest_session", "guest_session"),
            agents=app("functions/agents", "agents"),
            chat=app("functions/chat", "chat"),
            stats=app("functions/agent_stats", "on_chat_event", "cloudevent"),
        )


@dataclass
class Guest:
    token: str
    address: str
    agents: list[str] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def environ(self) -> dict[str, str]:
        return {"REMOTE_ADDR": self.address}


def _ok(response: Any, what: str) -> Any:
    if response.status_code >= 300:
        raise DrillFailed(f"{what}: {response.status_code} {response.get_data()[:300]!r}")
    return response.get_json()


def fill(
    platform: Platform, guests: int, agents: int, conversations: int, messages: int
) -> list[Guest]:
    """Guests with agents, conversations and answered messages, through the HTTP API; each
    answer's `chat-events` event is delivered to the run-statistics consumer, as Pub/Sub
    would, so every agent has run counts."""
    from google.cloud import pubsub_v1

    from shared.gcp import clients

    publisher = clients.publisher()
    subscriber = pubsub_v1.SubscriberClient()
    topic = clients.topic_path("chat-events")
    publisher.create_topic(name=topic)
    subscription = subscriber.subscription_path(PROJECT, "restore-drill-chat-events")
    subscriber.create_subscription(name=subscription, topic=topic)

    made: list[Guest] = []
    for number in range(guests):
        address = f"203.0.113.{number + 1}"
        session = _ok(
            platform.sessions.post("/v1/sessions", environ_base={"REMOTE_ADDR": address}),
            "POST /v1/sessions",
        )
        guest = Guest(session["token"], address)
        for agent_number in range(agents):
            agent = _ok(
                platform.agents.post(
                    "/v1/agents",
                    json={
                        "name": f"Agent {number}.{agent_number}",
                        "systemPrompt": "Answer in one short paragraph.",
                        "tags": ["drill", f"guest-{number}"],
                    },
                    headers=guest.headers,
                ),
                "POST /v1/agents",
            )
            guest.agents.append(agent["id"])
            for conversation_number in range(conversations):
                conversation = _ok(
                    platform.chat.post(
                        "/v1/conversations",
                        json={"agentId": agent["id"], "title": f"Drill {conversation_number}"},
                        headers=guest.headers,
                    ),
                    "POST /v1/conversations",
                )
                guest.conversations.append(conversation["id"])
                for message_number in range(messages):
                    _ok(
                        platform.chat.post(
                            f"/v1/conversations/{conversation['id']}/messages",
                            json={"content": f"Question {message_number}: what changed?"},
                            headers=guest.headers,
                            environ_base=guest.environ,
                        ),
                        "POST .../messages",
                    )
        made.append(guest)
    _deliver_chat_events(
        platform, subscriber, subscription, guests * agents * conversations * messages
    )
    subscriber.close()
    return made


def _deliver_chat_events(
    platform: Platform, subscriber: Any, subscription: str, expected: int
) -> None:
    delivered = 0
    deadline = time.monotonic() + 60
    while delivered < expected:
        if time.monotonic() > deadline:
            raise DrillFailed(f"{delivered} of {expected} chat events arrived")
        response = subscriber.pull(subscription=subscription, max_messages=100, timeout=10)
        for received in response.received_messages:
            body = {
                "id": received.message.message_id,
                "specversion": "1.0",
                "source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/chat-events",
                "type": "google.cloud.pubsub.topic.v1.messagePublished",
                "datacontenttype": "application/json",
                "data": {
                    "message": {
                        "data": base64.b64encode(received.message.data).decode(),
                        "attributes": dict(received.message.attributes),
                        "messageId": received.message.message_id,
                    },
                    "subscription": subscription,
                },
            }
            answer = platform.stats.post(
                "/", data=json.dumps(body), headers={"Content-Type": "application/cloudevents+json"}
            )
            if answer.status_code >= 300:
                raise DrillFailed(f"agents-stats answered {answer.status_code}")
            delivered += 1
        if response.received_messages:
            subscriber.acknowledge(
                subscription=subscription,
                ack_ids=[received.ack_id for received in response.received_messages],
            )


# --- what the API and the database say --------------------------------------------------------


def api_view(platform: Platform, guests: list[Guest]) -> dict[str, Any]:
    """Every read route's answer (body and ETag) for every guest's resources."""
    view: dict[str, Any] = {}

    def read(client: Any, path: str, guest: Guest) -> Any:
        response = client.get(path, headers=guest.headers)
        view[f"{guest.token[:12]} GET {path}"] = {
            "status": response.status_code,
            "etag": response.headers.get("ETag"),
            "body": response.get_json(),
        }
        return response.get_json()

    for guest in guests:
        read(platform.sessions, "/v1/sessions/current", guest)
        read(platform.agents, "/v1/agents?limit=100", guest)
        read(platform.agents, "/v1/dashboard/stats", guest)
        for agent in guest.agents:
            read(platform.agents, f"/v1/agents/{agent}", guest)
            read(platform.chat, f"/v1/conversations?agentId={agent}", guest)
        for conversation in guest.conversations:
            read(platform.chat, f"/v1/conversations/{conversation}", guest)
            read(platform.chat, f"/v1/conversations/{conversation}/messages?limit=100", guest)
    return view


def documents() -> dict[str, dict[str, Any]]:
    """Every document of the database, by path, recursively."""
    from shared.gcp import clients

    found: dict[str, dict[str, Any]] = {}

    def walk(collections: Iterator[Any]) -> None:
        for collection in collections:
            for reference in collection.list_documents():
                snapshot = reference.get()
                if snapshot.exists:
                    found[reference.path] = snapshot.to_dict() or {}
                walk(reference.collections())

    walk(clients.firestore().collections())
    return found


def census(found: dict[str, dict[str, Any]], view: dict[str, Any]) -> dict[str, int]:
    """What the drill restored, by kind."""
    kinds: Counter[str] = Counter()
    for path in found:
        parts = path.split("/")
        if parts[0] == "limits":
            kinds["counters: spend meters"] += 1
        elif parts[0] == "agent_totals":
            kinds["counters: dashboard totals"] += 1
        elif len(parts) == 4 and parts[2] == "statShards":
            kinds["counters: agent stat shards"] += 1
        elif parts[0] == "quotas":
            kinds["counters: guest quotas"] += 1
        elif len(parts) == 4 and parts[2] == "messages":
            kinds["messages"] += 1
        elif len(parts) == 2 and parts[0] in {"sessions", "agents", "conversations"}:
            kinds[parts[0]] += 1
    kinds["documents in all"] = len(found)
    kinds["API answers compared"] = len(view)
    return dict(sorted(kinds.items()))


def compare(before: Any, after: Any, what: str) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        missing = sorted(set(before) - set(after))[:5]
        extra = sorted(set(after) - set(before))[:5]
        changed = sorted(key for key in set(before) & set(after) if before[key] != after[key])[:5]
        raise DrillFailed(f"{what} differ: missing {missing}, extra {extra}, changed {changed}")
    raise DrillFailed(f"{what} differ")


# --- the drill -----------------------------------------------------------------------------


@dataclass
class Report:
    restored: dict[str, int]
    seconds: dict[str, float]

    def lines(self) -> list[str]:
        lines = ["restore drill: every document and every API answer came back"]
        lines += [f"  {name}: {count}" for name, count in self.restored.items()]
        lines += [f"  {step}: {value:.1f} s" for step, value in self.seconds.items()]
        return lines


@contextlib.contextmanager
def _stopping(emulators: list[Emulator]) -> Iterator[list[Emulator]]:
    try:
        yield emulators
    finally:
        for emulator in emulators:
            emulator.stop()


def drill(work: Path, guests: int, agents: int, conversations: int, messages: int) -> Report:
    seconds: dict[str, float] = {}
    os.environ.update(
        {"GOOGLE_CLOUD_PROJECT": PROJECT, "ENVIRONMENT": "local", "LOG_LEVEL": "WARNING"}
    )
    os.environ.pop("ANTHROPIC_API_KEY", None)  # the built-in offline model answers
    # A cold emulator on a busy box can take seconds to answer its first calls: the
    # production deadlines would answer 503 (as the test suite, allow more).
    for name, value in {
        "FIRESTORE_CALL_TIMEOUT_SECONDS": "10",
        "REQUEST_DEADLINE_SECONDS": "30",
    }.items():
        os.environ.setdefault(name, value)
    with _stopping([]) as running:
        started = time.monotonic()
        firestore = start_firestore(work)
        running.append(firestore)
        pubsub = start_pubsub(work)
        running.append(pubsub)
        seconds["emulators started"] = time.monotonic() - started
        use_emulators(firestore, pubsub)
        platform = Platform.load()

        started = time.monotonic()
        made = fill(platform, guests, agents, conversations, messages)
        view_before = api_view(platform, made)
        documents_before = documents()
        seconds["filled through the API"] = time.monotonic() - started

        started = time.monotonic()
        metadata = export(firestore, work / "export")
        seconds["exported"] = time.monotonic() - started

        firestore.stop()  # the database is gone: nothing but the export is left
        running.remove(firestore)

        started = time.monotonic()
        restored = start_firestore(work, import_from=metadata)
        running.append(restored)
        use_emulators(restored, None)
        seconds["imported into a new emulator"] = time.monotonic() - started

        started = time.monotonic()
        documents_after = documents()
        compare(documents_before, documents_after, "documents")
        view_after = api_view(platform, made)
        compare(view_before, view_after, "API answers")
        seconds["verified"] = time.monotonic() - started
        seconds["restore (import + verify)"] = (
            seconds["imported into a new emulator"] + seconds["verified"]
        )
    if not any(
        path.startswith("conversations/") and "/messages/" in path for path in documents_after
    ):
        raise DrillFailed("the drill stored no messages")
    return Report(census(documents_after, view_after), seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=4)
    parser.add_argument("--agents", type=int, default=2, help="agents per guest")
    parser.add_argument("--conversations", type=int, default=2, help="per agent")
    parser.add_argument("--messages", type=int, default=2, help="sent per conversation")
    parser.add_argument("--keep", action="store_true", help="keep the export and the logs")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="restore-drill-"))
    try:
        report = drill(work, args.guests, args.agents, args.conversations, args.messages)
    except (DrillFailed, EmulatorError) as exc:
        print(f"restore drill FAILED: {exc} (logs in {work})", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    if args.keep:
        print(f"  export and logs: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
