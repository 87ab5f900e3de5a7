"""`make loadtest SCENARIO=light`: run a load-test scenario against the local stack.

It asks the loadtest function, through the gateway at http://127.0.0.1:${PORT:-8080}, to
run the scenario against that same gateway (loopback only), then prints the per-endpoint
table. The run is stored like any other: `GET /v1/loadtests/runs` lists it. The stack and
this command need the same `ADMIN_TOKEN` (e.g. `ADMIN_TOKEN=dev make run`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import httpx

SCENARIOS = ("light", "medium", "heavy", "spike")


def table(run: dict[str, Any]) -> str:
    header = f"{'endpoint':<50} {'reqs':>6} {'fails':>6} {'p50 ms':>8} {'p95 ms':>8} "
    header += f"{'p99 ms':>8} {'max ms':>8} {'rps':>7}"
    lines = [header, "-" * len(header)]
    for name, e in run["endpoints"].items():
        lines.append(
            f"{name:<50} {e['requests']:>6} {e['failures']:>6} {e['p50Ms']:>8.1f} "
            f"{e['p95Ms']:>8.1f} {e['p99Ms']:>8.1f} {e['maxMs']:>8.1f} {e['rps']:>7.1f}"
        )
    totals = run["totals"]
    lines += [
        "-" * len(header),
        f"{'total':<50} {totals['requests']:>6} {totals['failures']:>6} "
        f"{'':>35} {totals['rps']:>7.1f}",
        "",
        f"run {run['runId']}  scenario {run['scenario']}  users {run['users']}  "
        f"{totals['elapsedSeconds']:.1f} s  stopped by {totals['stoppedBy']}",
        f"verdict: {run['verdict'].upper()}"
        + (f"  regression vs {run['baselineRuns']} previous runs" if run["regression"] else ""),
    ]
    lines += [f"  breach: {breach}" for breach in run["breaches"]]
    lines += [f"  regression: {item}" for item in run["regressions"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--scenario", default=os.environ.get("SCENARIO") or "light", choices=SCENARIOS
    )
    parser.add_argument("--duration", type=float, help="seconds (capped by the function)")
    parser.add_argument("--users", type=int)
    parser.add_argument(
        "--spend-model-tokens",
        action="store_true",
        help="let agents call the real model (costs tokens)",
    )
    args = parser.parse_args(argv)
    gateway = f"http://127.0.0.1:{os.environ.get('PORT') or '8080'}"
    token = os.environ.get("ADMIN_TOKEN", "")
    if not token:
        sys.stderr.write("make loadtest: set ADMIN_TOKEN to the value the stack runs with\n")
        return 2
    body: dict[str, Any] = {"scenario": args.scenario, "targetBaseUrl": gateway}
    if args.duration:
        body["durationSeconds"] = args.duration
    if args.users:
        body["users"] = args.users
    if args.spend_model_tokens:
        body["spendModelTokens"] = True
    headers = {"Authorization": f"Bearer {token}"}
    sys.stderr.write(f"running scenario {args.scenario!r} against {gateway} ...\n")
    try:
        response = httpx.post(
            f"{gateway}/v1/loadtests/runs", json=body, headers=headers, timeout=1200
        )
    except httpx.HTTPError as exc:
        sys.stderr.write(f"make loadtest: cannot reach {gateway} ({exc}); is `make run` up?\n")
        return 1
    if response.status_code != 201:
        sys.stderr.write(f"make loadtest: {response.status_code} {response.text[:500]}\n")
        return 1
    sys.stdout.write(table(response.json()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
