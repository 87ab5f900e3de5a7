"""Run the packaged functions as Cloud Run would, with what Terraform gives them.

Each `dist/<entry>.zip` is unpacked into a folder of its own and served by the
functions-framework of a Python 3.12 virtual environment holding only that zip's
`requirements.txt`, started the way the Python runtime starts a function: the
`functions-framework` command with `--target` and the default `--signature-type http`
(the decorator in main.py decides, as in production), `PORT`, `K_SERVICE`, and the
environment variables and secrets Terraform sets. The only additions stand in for what
Google provides: the emulators' hosts for Firestore and Pub/Sub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.local.emulators import free_port, port_open, stop_processes

RUNTIME_VERSION = re.compile(r"^python3(\d+)$")
LOG_TAIL_LINES = 12


class RehearsalError(RuntimeError):
    """A step of the rehearsal could not be carried out; the message says which and why."""


def runtime_python(runtime: str) -> Path:
    """The interpreter of the manifest's runtime (python312 -> Python 3.12).

    REHEARSAL_PYTHON wins; otherwise pyenv's newest 3.12.x, then `python3.12` on PATH.
    """
    match = RUNTIME_VERSION.match(runtime)
    if match is None:
        raise RehearsalError(f"runtime {runtime!r} is not a Python runtime")
    version = f"3.{match.group(1)}"
    candidates: list[Path] = []
    if explicit := os.environ.get("REHEARSAL_PYTHON"):
        candidates.append(Path(explicit))
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
        installed = sorted(Path(root, "versions").glob(f"{version}.*"), reverse=True)
        candidates += [path / "bin" / f"python{version}" for path in installed]
    if found := shutil.which(f"python{version}"):
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise RehearsalError(
        f"no Python {version} interpreter (the {runtime} runtime): install it, e.g. "
        f"`pyenv install {version}`, or set REHEARSAL_PYTHON"
    )


@dataclass
class Environments:
    """Virtual environments by requirements.txt content.

    Two zips whose requirements.txt are byte-identical get one environment: pip installs
    the same distributions into both, so sharing it changes nothing they can import,
    and each environment still holds one requirements.txt and nothing else.
    """

    python: Path
    folder: Path
    made: dict[str, Path] = field(default_factory=dict)

    def for_requirements(self, requirements: bytes) -> Path:
        key = hashlib.sha256(requirements).hexdigest()[:16]
        if key in self.made:
            return self.made[key]
        venv = self.folder / key
        requirements_file = self.folder / f"{key}.txt"
        requirements_file.write_bytes(requirements)
        _run([str(self.python), "-m", "venv", str(venv)], "create a virtual environment")
        _run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
                str(requirements_file),
            ],
            "pip install -r requirements.txt",
            timeout=900,
        )
        self.made[key] = venv
        return venv


def _run(command: list[str], what: str, timeout: float = 300) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RehearsalError(f"{what} failed: {(result.stderr or result.stdout)[-1500:]}")


def unpack(zip_path: Path, folder: Path) -> bytes:
    """Unpack a function zip as Cloud Build does; return its requirements.txt."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    requirements = folder / "requirements.txt"
    if not requirements.is_file():
        raise RehearsalError(f"{zip_path.name} has no requirements.txt")
    return requirements.read_bytes()


@dataclass
class Function:
    """One running function: its process, port and log file."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    started_at: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def failure_line(self) -> str:
        """The most telling line of the log: the exception, else the last line."""
        lines = self.log_tail(200).splitlines()
        for line in reversed(lines):
            if re.match(r"^\w*(Error|Exception)\b", line.strip()) or "Error:" in line:
                return line.strip()
        return lines[-1].strip() if lines else "(no output)"


def start_function(
    name: str,
    *,
    source: Path,
    venv: Path,
    entry_point: str,
    env: dict[str, str],
    log_dir: Path,
) -> Function:
    """`functions-framework --target <entry point>` as the Python runtime starts it."""
    port = free_port()
    run_env = {
        # What Cloud Run and the Python runtime set for every function.
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(source),
        "LANG": "C.UTF-8",
        "PORT": str(port),
        "K_SERVICE": name,
        "K_REVISION": f"{name}-00001-rehearsal",
        "K_CONFIGURATION": name,
        "FUNCTION_TARGET": entry_point,
        "FUNCTION_SIGNATURE_TYPE": "http",
        # Log lines arrive as they are written; Cloud Logging reads stdout the same way.
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    log = log_dir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(venv / "bin" / "functions-framework"),
                f"--target={entry_point}",
                "--signature-type=http",
                "--host=127.0.0.1",
                f"--port={port}",
            ],
            cwd=source,
            env=run_env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Function(name, port, process, log, time.monotonic())


def wait_until_serving(function: Function, timeout: float) -> float:
    """Seconds until the function's port answers; RehearsalError if it exits or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if function.process.poll() is not None:
            raise RehearsalError(
                f"exited with code {function.process.returncode} at start: "
                f"{function.failure_line()}"
            )
        if port_open(function.port):
            return time.monotonic() - function.started_at
        time.sleep(0.1)
    raise RehearsalError(f"did not listen on its port within {timeout:.0f} s")


def stop_functions(functions: list[Function]) -> None:
    stop_processes([function.process for function in functions])


@dataclass
class Push:
    subscription: str
    status: int
    data: str
    at: float


class PushRecorder:
    """Between the Pub/Sub emulator and the functions: forwards each push unchanged to
    its function and records the answer, so the rehearsal can tell that a message reached
    its consumer and was acknowledged. It also plays Slack's incoming webhook (the value
    of the slack-webhook-url secret), answering `ok` and keeping what was posted."""

    def __init__(self) -> None:
        self.targets: dict[str, str] = {}
        self.pushes: list[Push] = []
        self.slack_posts: list[str] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = recorder.handle(self.path, dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def endpoint(self, subscription: str, function_url: str, push_path: str) -> str:
        self.targets[subscription] = function_url
        return f"{self.url}/push/{subscription}{push_path}"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if path == "/slack":
            with self._lock:
                self.slack_posts.append(body.decode(errors="replace"))
            return 200, b"ok"
        _, _, rest = path.partition("/push/")
        subscription, _, push_path = rest.partition("/")
        target = self.targets.get(subscription)
        if target is None:
            return 404, b"unknown subscription"
        request = urllib.request.Request(
            f"{target}/{push_path}",
            data=body,
            method="POST",
            headers={"Content-Type": headers.get("Content-Type", "application/json")},
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read()
        except OSError as exc:
            status, answer = 502, repr(exc).encode()
        with self._lock:
            self.pushes.append(Push(subscription, status, _message_data(body), time.monotonic()))
        return status, answer

    def answered(self, subscription: str, containing: str = "") -> list[Push]:
        with self._lock:
            return [
                push
                for push in self.pushes
                if push.subscription == subscription and containing in push.data
            ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _message_data(body: bytes) -> str:
    """The decoded `message.data` of a push request (for matching), or the raw body."""
    try:
        envelope = json.loads(body)
        return base64.b64decode(envelope["message"].get("data") or "").decode(errors="replace")
    except (ValueError, KeyError, TypeError, AttributeError):
        return body.decode(errors="replace")
