"""`make rehearse`: deploy what `make package` built, as Terraform configures it, locally.

1. Terraform's values: `modules/runtime_config` evaluated by the terraform binary
   (environment variables, secrets, push subscriptions, scheduled calls).
2. Each `dist/<entry>.zip` unpacked into its own folder, served from a Python 3.12
   virtual environment holding only its requirements.txt (see runtime.py).
3. The emulators; every topic, dead-letter topic and push subscription Terraform defines,
   with its ack deadline, retry policy and dead-letter policy.
4. The gateway on 127.0.0.2 in the load balancer's place (the URL the load test targets).
5. Every Cloud Scheduler job Terraform defines, fired once as Cloud Scheduler sends it;
   each must answer 2xx, and the load-test run's result must reach the alerts function.
6. A probe on every subscribed topic: each push subscription must deliver and be acked.
7. The smoke test Cloud Build runs after a deploy (infra/smoke_test.py), on the gateway.
8. An answer outlives its connection (disconnect.py): a stream cut mid-answer, the chat
   function's processes stopped (SIGSTOP, as request-based billing throttles an instance
   whose response ended), and the answer must end completed, as uncut, through the
   continuation entry point; then a resume through the gateway.

It prints one row per check and exits 1 if any failed. Operator routes: the functions
run with OPERATOR_AUTH=iam as Terraform sets it, trusting Cloud Run IAM; the rehearsal
sends the Authorization header Cloud Scheduler sends (an OIDC token, here unsigned, since
nothing local can verify Google's signature) and the function admits it as production's
would once IAM has.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from infra.local.emulators import EmulatorError, Emulators, free_port, port_open, wait_for
from infra.manifest import ROOT, Entry, Manifest, load
from infra.rehearsal import config as terraform_config
from infra.rehearsal import disconnect
from infra.rehearsal.runtime import (
    Environments,
    Function,
    PushRecorder,
    RehearsalError,
    runtime_python,
    start_function,
    stop_functions,
    unpack,
    wait_until_serving,
)
from infra.smoke_test import SmokeTestFailed
from infra.smoke_test import run as smoke_test

PROJECT = "demo-rehearsal"
# The load balancer's stand-in listens on its own loopback address: a target the load test
# would reach only if Terraform allows it (the code's default allows 127.0.0.1 only).
GATEWAY_HOST = "127.0.0.2"
START_TIMEOUT = 90.0
DELIVERY_TIMEOUT = 90.0
PROBE = b'{"rehearsal": "probe"}'
# Cloud Scheduler signs its calls with an OIDC token; this one has the same shape, unsigned.
SCHEDULER_TOKEN = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ."  # noqa: S105


@dataclass
class Row:
    subject: str
    check: str
    ok: bool
    detail: str


@dataclass
class Rehearsal:
    infra: Path
    dist: Path
    work: Path
    manifest: Manifest
    environment: str = "staging"
    rows: list[Row] = field(default_factory=list)
    functions: dict[str, Function] = field(default_factory=dict)
    emulators: Emulators | None = None
    recorder: PushRecorder | None = None
    gateway: subprocess.Popen[bytes] | None = None
    gateway_port: int = field(default_factory=free_port)
    runtime: terraform_config.RuntimeConfig | None = None
    # Shared between rehearsals by the drift tests; one per run otherwise.
    venvs: Environments | None = None

    @property
    def api_url(self) -> str:
        return f"http://{GATEWAY_HOST}:{self.gateway_port}"

    def record(self, subject: str, check: str, ok: bool, detail: str) -> bool:
        self.rows.append(Row(subject, check, ok, detail))
        return ok

    @property
    def failed(self) -> bool:
        return any(not row.ok for row in self.rows)

    # --- 1. Terraform's values ------------------------------------------------------------

    def read_terraform(self) -> terraform_config.RuntimeConfig:
        inputs: dict[str, Any] = {
            "project_id": PROJECT,
            "api_url": self.api_url,
            **environment_inputs(self.infra, self.environment),
        }
        self.runtime = terraform_config.evaluate(self.infra, inputs)
        return self.runtime

    def check_server_threads(self, entries: list[Entry]) -> None:
        """Production must serve each entry with the threads `make bench` measures."""
        assert self.runtime is not None
        for entry in entries:
            env = self.runtime.environment_variables.get(entry.name, {})
            wrong = {
                key: (env.get(key), value)
                for key, value in entry.server_env.items()
                if env.get(key) != value
            }
            self.record(
                entry.name,
                "server threads",
                not wrong,
                ", ".join(
                    f"{key}={found} from Terraform, bench runs {want}"
                    for key, (found, want) in wrong.items()
                )
                or f"THREADS={env['THREADS']} = concurrency",
            )

    # --- 2. the packages --------------------------------------------------------------------

    def start_functions(self, entries: list[Entry], log_dir: Path) -> None:
        assert self.runtime is not None and self.emulators is not None
        if self.venvs is None:
            python = runtime_python(self.manifest.defaults["runtime"])
            self.venvs = Environments(python, self.work / "venvs")
        venvs = self.venvs
        venvs.folder.mkdir(parents=True, exist_ok=True)
        secrets = self.secret_values()
        pending: list[Function] = []
        for entry in entries:
            zip_path = self.dist / f"{entry.name}.zip"
            if not zip_path.is_file():
                self.record(entry.name, "start", False, f"{zip_path} missing: run `make package`")
                continue
            source = self.work / "functions" / entry.name
            try:
                venv = venvs.for_requirements(unpack(zip_path, source))
            except RehearsalError as exc:
                self.record(entry.name, "start", False, str(exc))
                continue
            env = {
                **self.runtime.environment_variables.get(entry.name, {}),
                **{
                    item["env"]: secrets.get(item["secret"], f"rehearsal-{item['secret']}")
                    for item in self.runtime.secrets.get(entry.name, [])
                },
                # Google's APIs, played by the emulators.
                "FIRESTORE_EMULATOR_HOST": self.emulators.env["FIRESTORE_EMULATOR_HOST"],
                "PUBSUB_EMULATOR_HOST": self.emulators.env["PUBSUB_EMULATOR_HOST"],
            }
            function = start_function(
                entry.name,
                source=source,
                venv=venv,
                entry_point=entry.entry_point,
                env=env,
                log_dir=log_dir,
            )
            self.functions[entry.name] = function
            pending.append(function)
        for function in pending:
            try:
                seconds = wait_until_serving(function, START_TIMEOUT)
            except RehearsalError as exc:
                self.record(function.name, "start", False, str(exc))
                del self.functions[function.name]
            else:
                self.record(function.name, "start", True, f"serving in {seconds:.1f} s")

    def secret_values(self) -> dict[str, str]:
        """Values of the Secret Manager secrets: stand-ins for the outside world."""
        assert self.recorder is not None
        return {"slack-webhook-url": f"{self.recorder.url}/slack"}

    # --- 3. Pub/Sub -----------------------------------------------------------------------

    def create_topics_and_subscriptions(self) -> None:
        assert self.runtime is not None and self.recorder is not None
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import pubsub_v1
        from google.protobuf.duration_pb2 import Duration
        from google.pubsub_v1.types import DeadLetterPolicy, RetryPolicy

        publisher = pubsub_v1.PublisherClient()
        subscriber = pubsub_v1.SubscriberClient()
        for topic in self.runtime.topics():
            with contextlib.suppress(AlreadyExists):
                publisher.create_topic(name=publisher.topic_path(PROJECT, topic), timeout=30)
        for name, subscription in self.runtime.subscriptions.items():
            function = self.functions.get(name)
            if function is None:
                continue
            request: dict[str, Any] = {
                "name": subscriber.subscription_path(PROJECT, name),
                "topic": publisher.topic_path(PROJECT, subscription.topic),
                "push_config": {
                    "push_endpoint": self.recorder.endpoint(
                        name, function.url, subscription.push_path
                    )
                },
                "ack_deadline_seconds": subscription.ack_deadline_seconds,
                "retry_policy": RetryPolicy(
                    minimum_backoff=_duration(Duration, subscription.minimum_backoff),
                    maximum_backoff=_duration(Duration, subscription.maximum_backoff),
                ),
            }
            if subscription.dead_letter_topic:
                request["dead_letter_policy"] = DeadLetterPolicy(
                    dead_letter_topic=publisher.topic_path(PROJECT, subscription.dead_letter_topic),
                    max_delivery_attempts=subscription.max_delivery_attempts,
                )
            subscriber.create_subscription(request=request, timeout=30)
        subscriber.close()

    def publish(self, topic: str, data: bytes) -> str:
        from google.cloud import pubsub_v1

        publisher = pubsub_v1.PublisherClient()
        return str(publisher.publish(publisher.topic_path(PROJECT, topic), data).result(timeout=30))

    def wait_for_push(self, subscription: str, containing: str, since: float) -> str | None:
        """None once the subscription's push of a matching message was acked, else why not."""
        assert self.recorder is not None
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while time.monotonic() < deadline:
            pushes = [p for p in self.recorder.answered(subscription, containing) if p.at >= since]
            if any(200 <= push.status < 300 for push in pushes):
                return None
            time.sleep(0.2)
        statuses = [push.status for push in self.recorder.answered(subscription, containing)]
        return f"no acknowledged push within {DELIVERY_TIMEOUT:.0f} s" + (
            f" (answers: {statuses})" if statuses else " (none delivered)"
        )

    def subscriptions_on(self, topic: str) -> list[str]:
        assert self.runtime is not None
        return sorted(
            name
            for name, subscription in self.runtime.subscriptions.items()
            if subscription.topic == topic and name in self.functions
        )

    # --- 4. the load balancer's stand-in --------------------------------------------------

    def start_gateway(self, log_dir: Path) -> None:
        routes = {
            prefix: self.functions[entry.name].url
            for entry in self.manifest.http_entries()
            if entry.name in self.functions and entry.trigger.http is not None
            for prefix in entry.trigger.http.paths
        }
        log = (log_dir / "gateway.log").open("wb")
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "infra.local.gateway"],
            cwd=ROOT,
            env={
                **os.environ,
                "GATEWAY_ROUTES": json.dumps(routes),
                "GATEWAY_HOST": GATEWAY_HOST,
                "PORT": str(self.gateway_port),
                "GOOGLE_CLOUD_PROJECT": PROJECT,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: port_open(self.gateway_port, GATEWAY_HOST), 30, "gateway", self.gateway)

    # --- 5. Cloud Scheduler -----------------------------------------------------------------

    def fire_scheduled_calls(self) -> None:
        assert self.runtime is not None
        for key, call in sorted(self.runtime.scheduled_calls.items()):
            subject = f"scheduler {key}"
            what = f"{call.method} {call.path} on {call.function}"
            function = self.functions.get(call.function)
            if function is None:
                self.record(subject, what, False, f"{call.function} is not running")
                continue
            started = time.monotonic()
            status, answer = http_call(
                call.method,
                f"{function.url}{call.path}",
                {
                    **call.headers,
                    "Authorization": f"Bearer {SCHEDULER_TOKEN}",
                    "User-Agent": "Google-Cloud-Scheduler",
                },
                call.body.encode(),
                timeout=600,
            )
            seconds = time.monotonic() - started
            if not 200 <= status < 300:
                self.record(subject, what, False, f"answered {status}: {_error_of(answer)}")
                continue
            self.record(subject, what, True, f"answered {status} in {seconds:.1f} s")
            if call.function == "loadtest":
                self.check_loadtest_result(answer, started)

    def check_loadtest_result(self, answer: bytes, since: float) -> None:
        """The run's `loadtest.completed` event must reach and be acked by its consumers."""
        run = json.loads(answer)
        run_id = str(run.get("runId", ""))
        consumers = self.subscriptions_on("loadtest-results")
        if not consumers:
            self.record("scheduler loadtest", "result delivered", False, "nothing consumes it")
        for consumer in consumers:
            problem = self.wait_for_push(consumer, run_id, since)
            self.record(
                consumer,
                f"run {run_id} result",
                problem is None,
                problem or f"acknowledged (verdict {_verdict(run)})",
            )

    def fire_scheduled_messages(self) -> set[str]:
        assert self.runtime is not None
        topics: set[str] = set()
        for key, message in sorted(self.runtime.scheduled_messages.items()):
            subject = f"scheduler {key}"
            since = time.monotonic()
            try:
                self.publish(message.topic, message.data.encode())
            except Exception as exc:  # noqa: BLE001 - reported as this job's failure
                self.record(subject, f"publish to {message.topic}", False, repr(exc)[:200])
                continue
            self.record(subject, f"publish to {message.topic}", True, "published")
            topics.add(message.topic)
            for consumer in self.subscriptions_on(message.topic):
                problem = self.wait_for_push(consumer, "", since)
                self.record(consumer, "scheduled tick", problem is None, problem or "acknowledged")
        return topics

    # --- 6. every push subscription ---------------------------------------------------------

    def probe_subscriptions(self, skip_topics: set[str]) -> None:
        assert self.runtime is not None
        probed: dict[str, float] = {}
        for name, subscription in sorted(self.runtime.subscriptions.items()):
            if name not in self.functions or subscription.topic in skip_topics:
                continue
            if subscription.topic not in probed:
                probed[subscription.topic] = time.monotonic()
                self.publish(subscription.topic, PROBE)
        for name, subscription in sorted(self.runtime.subscriptions.items()):
            if subscription.topic not in probed:
                continue
            problem = self.wait_for_push(name, "rehearsal", probed[subscription.topic])
            self.record(
                name,
                f"push from {subscription.topic}",
                problem is None,
                problem or f"acknowledged ({_delivery_policy(subscription)})",
            )

    # --- 7. the deploy's smoke test ---------------------------------------------------------

    def smoke_test(self) -> None:
        try:
            smoke_test(self.api_url)
        except (SmokeTestFailed, OSError, ValueError) as exc:
            self.record("smoke test", "infra/smoke_test.py", False, str(exc))
        else:
            self.record("smoke test", "infra/smoke_test.py", True, f"passed against {self.api_url}")

    # --- 8. an answer outlives its connection ----------------------------------------------

    def check_disconnect(self, wait: float = 60.0) -> None:
        """Cut a stream, stop the chat function, and see the answer finished elsewhere."""
        assert self.runtime is not None
        missing = [name for name in disconnect.NEEDS if name not in self.functions]
        if missing:
            self.record(disconnect.SUBJECT, disconnect.CHECK, False, f"not running: {missing}")
            return
        consumers = self.subscriptions_on(disconnect.TOPIC)
        chat = self.functions["chat"]

        def acked(answer_id: str) -> list[int]:
            assert self.recorder is not None
            return [p.status for c in consumers for p in self.recorder.answered(c, answer_id)]

        try:
            detail = disconnect.run(self.api_url, chat.url, chat.process.pid, acked, wait)
        except disconnect.CheckFailed as exc:
            self.record(disconnect.SUBJECT, disconnect.CHECK, False, str(exc))
        except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
            self.record(disconnect.SUBJECT, disconnect.CHECK, False, repr(exc)[:300])
        else:
            self.record(disconnect.SUBJECT, disconnect.CHECK, True, detail)

    # --- the whole run ----------------------------------------------------------------------

    def start(self, entries: list[Entry], log_dir: Path) -> None:
        self.read_terraform()
        self.emulators = Emulators(free_port(), free_port(), PROJECT).start()
        os.environ.update(self.emulators.env)
        self.recorder = PushRecorder()
        self.start_functions(entries, log_dir)
        self.create_topics_and_subscriptions()

    def stop(self) -> None:
        stop_functions(list(self.functions.values()))
        self.functions.clear()
        if self.gateway is not None:
            from infra.local.emulators import stop_processes

            stop_processes([self.gateway])
        if self.recorder is not None:
            self.recorder.close()
        if self.emulators is not None:
            self.emulators.stop()


def environment_inputs(infra: Path, environment: str) -> dict[str, Any]:
    """The literal settings environments/<env>/main.tf passes to the platform module that
    runtime_config also takes (environment, log_level)."""
    import hcl2

    path = infra / "environments" / environment / "main.tf"
    with path.open() as handle:
        parsed = hcl2.load(handle)
    inputs: dict[str, Any] = {"environment": environment}
    for block in parsed.get("module", []):
        for name, body in block.items():
            if name.strip('"') != "platform":
                continue
            for key in ("environment", "log_level"):
                value = body.get(key)
                while isinstance(value, list) and len(value) == 1:
                    value = value[0]
                if isinstance(value, str) and "${" not in value:
                    inputs[key] = value.strip('"')
    return inputs


def http_call(
    method: str, url: str, headers: dict[str, str], body: bytes, timeout: float
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, repr(exc).encode()


def _verdict(run: dict[str, Any]) -> str:
    """The run's verdict; a failed one with its first breach (the load test judged the
    rehearsal, which on a busy laptop may well miss production's SLOs)."""
    breaches = run.get("breaches") or []
    return str(run.get("verdict")) + (f": {breaches[0]}" if breaches else "")


def _error_of(answer: bytes) -> str:
    try:
        error = json.loads(answer)["error"]
        return f"{error['code']}: {error['message']}"[:300]
    except (ValueError, KeyError, TypeError):
        return answer.decode(errors="replace")[:300]


def _delivery_policy(subscription: terraform_config.Subscription) -> str:
    policy = f"ack deadline {subscription.ack_deadline_seconds} s"
    if subscription.dead_letter_topic:
        policy += (
            f", {subscription.max_delivery_attempts} attempts then {subscription.dead_letter_topic}"
        )
    return policy + f", backoff {subscription.minimum_backoff}..{subscription.maximum_backoff}"


def _duration(duration_type: Any, text: str) -> Any:
    return duration_type(seconds=int(text.removesuffix("s")))


def print_table(rows: list[Row]) -> None:
    width = max(len(row.subject) for row in rows) if rows else 10
    check_width = max(len(row.check) for row in rows) if rows else 10
    for row in rows:
        mark = "ok  " if row.ok else "FAIL"
        print(f"{mark} {row.subject:<{width}}  {row.check:<{check_width}}  {row.detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="`make package` output")
    parser.add_argument("--infra", type=Path, default=ROOT / "infra", help="Terraform to read")
    parser.add_argument("--environment", default="staging", choices=["staging", "prod"])
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="rehearsal-"))
    log_dir = work / "logs"
    log_dir.mkdir()
    manifest = load(args.infra / "functions.yaml")
    rehearsal = Rehearsal(args.infra, args.dist, work, manifest, args.environment)
    started = time.monotonic()
    try:
        rehearsal.start(manifest.functions, log_dir)
        rehearsal.check_server_threads(manifest.functions)
        rehearsal.start_gateway(log_dir)
        rehearsal.fire_scheduled_calls()
        ticked = rehearsal.fire_scheduled_messages()
        rehearsal.probe_subscriptions(ticked)
        rehearsal.smoke_test()
        rehearsal.check_disconnect()
    except (terraform_config.TerraformError, EmulatorError, RehearsalError) as exc:
        rehearsal.record("rehearsal", "setup", False, str(exc))
    finally:
        rehearsal.stop()
    print()
    print_table(rehearsal.rows)
    seconds = time.monotonic() - started
    if rehearsal.failed:
        print(f"\nrehearse: FAILED after {seconds:.0f} s; function logs in {log_dir}")
        for row in rehearsal.rows:
            if not row.ok:
                print(f"rehearse: {row.subject}: {row.check}: {row.detail}")
        return 1
    print(f"\nrehearse: every check passed in {seconds:.0f} s")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"rehearse: work folder kept at {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
