"""The smoke test after a deploy: a guest session created, read back and revoked.

One script for both places that run it: Cloud Build after `terraform apply` (against the
load balancer) and `make rehearse` (against the rehearsal's gateway). It uses the standard
library only, because Cloud Build runs it with the gcloud image's python3.

    python3 infra/smoke_test.py https://api.example.com [--attempts 30 --interval 20]

The first request is retried: a new load balancer can take minutes to answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any


class SmokeTestFailed(Exception):
    pass


def call(method: str, url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return status, json.loads(body) if body else None


def create_session(base_url: str, attempts: int, interval: float) -> dict[str, Any]:
    status: int | str = "no answer"
    for attempt in range(1, attempts + 1):
        try:
            status, body = call("POST", f"{base_url}/v1/sessions")
        except (OSError, ValueError) as exc:
            status = f"{type(exc).__name__}: {exc}"
        else:
            if status == 201:
                return dict(body)
        if attempt < attempts:
            print(f"POST /v1/sessions answered {status} (attempt {attempt}); retrying", flush=True)
            time.sleep(interval)
    raise SmokeTestFailed(f"POST /v1/sessions answered {status}, expected 201")


def run(base_url: str, attempts: int = 1, interval: float = 20) -> None:
    base_url = base_url.rstrip("/")
    session = create_session(base_url, attempts, interval)
    status, current = call("GET", f"{base_url}/v1/sessions/current", session["token"])
    if status != 200 or current.get("sessionId") != session["sessionId"]:
        raise SmokeTestFailed(f"GET /v1/sessions/current answered {status}: {current}")
    status, _ = call("DELETE", f"{base_url}/v1/sessions/current", session["token"])
    if status != 204:
        raise SmokeTestFailed(f"DELETE /v1/sessions/current answered {status}, expected 204")
    status, _ = call("GET", f"{base_url}/v1/sessions/current", session["token"])
    if status != 401:
        raise SmokeTestFailed(f"a revoked session still answered {status}, expected 401")
    check_console(base_url)


def check_console(base_url: str) -> None:
    """The console answers at `/` with its strict Content Security Policy."""
    request = urllib.request.Request(f"{base_url}/", method="GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, policy = response.status, response.headers.get("Content-Security-Policy", "")
    except urllib.error.HTTPError as exc:
        status, policy = exc.code, ""
    if status != 200 or "script-src 'self'" not in policy:
        raise SmokeTestFailed(f"GET / answered {status} with CSP {policy!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="API base URL, e.g. https://api.example.com")
    parser.add_argument("--attempts", type=int, default=1, help="tries of the first request")
    parser.add_argument("--interval", type=float, default=20, help="seconds between tries")
    args = parser.parse_args(argv)
    try:
        run(args.base_url, args.attempts, args.interval)
    except SmokeTestFailed as exc:
        print(f"smoke test failed against {args.base_url}: {exc}", flush=True)
        return 1
    print(f"smoke test passed against {args.base_url}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
