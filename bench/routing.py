"""Persona routing in process: what `POST /v1/personas/route` spends CPU on once the
request is read. Each message is routed offline as the route does (the classifier and the
cue scorer, `offline_route`) and, side by side, by the cue scorer alone (the router before
the classifier), and the first route of a fresh process is timed both ways (the cold
start the persona router pays: imports plus loading the classifier's weights).

Each shape is a 10,000-character message (the longest a route accepts), routed
`samples` times after two warm-up routes; a shape stops early once it has spent
`budget_seconds`, so a slow shape reports fewer samples instead of stalling the run.
Figures are milliseconds of wall time on one thread: p50, p95 and max. Goal: p95 under
50 ms for every shape.

`python -m bench.routing [--samples 30] [--length 10000]` prints the table; `make bench`
runs it as the `routing` section.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

GOAL_MS = 50.0
LENGTH = 10_000
PROSE = (
    "Our p95 latency doubled since Tuesday and the error rate is up 12.5% on the checkout "
    "API. Can you help me find which metric moved first? 내일 아침까지 원인을 정리해야 해서 "
    "너무 떨려요 ㅠㅠ Let's compare the deploys, the database and the queue together. "
)
SHAPES: dict[str, Callable[[int], str]] = {
    "a typical message (about 60 characters)": lambda n: PROSE[:60],
    "prose, English and Korean": lambda n: (PROSE * (n // len(PROSE) + 1))[:n],
    "one run of digits": lambda n: "0" * n,
    "one long word": lambda n: "a" * n,
    "short words": lambda n: ("ab " * n)[:n],
    "dotted digits": lambda n: ("1." * n)[:n],
}


def _route(text: str) -> Any:
    from shared.personas.routing import offline_route

    return offline_route(text)


def _route_by_cues(text: str) -> Any:
    from shared.personas.analysis import analyse
    from shared.personas.routing import route_analysis

    return route_analysis(analyse(text))


_COLD = """
import sys, time
started = time.perf_counter()
from shared.personas import classifier, routing
if sys.argv[1] == "cues":
    classifier.load_model = lambda: None
routing.offline_route("How should we shard the Postgres database?")
print((time.perf_counter() - started) * 1000)
"""


def cold_start(samples: int = 5) -> dict[str, float]:
    """Median ms from a fresh interpreter's import of the router to its first route."""
    import subprocess

    found = {}
    for way in ("classifier", "cues"):
        runs = [
            float(
                subprocess.run(
                    [sys.executable, "-c", _COLD, way], capture_output=True, text=True, check=True
                ).stdout
            )
            for _ in range(samples)
        ]
        found[way] = round(statistics.median(runs), 1)
    return found


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _timed(route: Callable[[str], Any], text: str, samples: int, budget: float) -> list[float]:
    times: list[float] = []
    spent = time.perf_counter()
    for index in range(samples + 2):
        started = time.perf_counter()
        route(text)
        if index >= 2:
            times.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() - spent > budget:
            break
    if not times:  # even the warm-up ran out of budget: its time is the figure
        times.append((time.perf_counter() - spent) * 1000 / (index + 1))
    return times


def measure(samples: int = 30, length: int = LENGTH, budget_seconds: float = 20.0) -> dict:
    """p50/p95/max milliseconds of one route per message shape, and the cues-alone p95."""
    rows = []
    for name, make in SHAPES.items():
        text = make(length)
        times = _timed(_route, text, samples, budget_seconds)
        by_cues = _timed(_route_by_cues, text, samples, budget_seconds)
        p95 = round(_percentile(times, 0.95), 2)
        rows.append(
            {
                "shape": name,
                "characters": len(text),
                "n": len(times),
                "p50": round(statistics.median(times), 2),
                "p95": p95,
                "max": round(max(times), 2),
                "cuesAloneP95": round(_percentile(by_cues, 0.95), 2),
                "goalMet": p95 < GOAL_MS,
            }
        )
    return {"goalMs": GOAL_MS, "rows": rows, "coldStartMs": cold_start()}


def lines(found: dict[str, Any]) -> list[str]:
    if "rows" not in found:
        return [f"_{found.get('skipped', 'not run')}_"]
    out = [
        f"One in-process route (analysis + scoring) of a message, ms; goal p95 < "
        f"{found['goalMs']:.0f} ms",
        "",
        "| message | characters | n | p50 | p95 | max | cues alone p95 | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in found["rows"]:
        goal = "yes" if row["goalMet"] else "**no**"
        out.append(
            f"| {row['shape']} | {row['characters']:,} | {row['n']} | {row['p50']:.1f} | "
            f"{row['p95']:.1f} | {row['max']:.1f} | {row.get('cuesAloneP95', 0):.1f} | {goal} |"
        )
    cold = found.get("coldStartMs")
    if cold:
        out += [
            "",
            f"First route of a fresh process (imports + weights), median of 5: "
            f"{cold['classifier']:.0f} ms with the classifier, {cold['cues']:.0f} ms with the "
            "cue scorer alone.",
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--length", type=int, default=LENGTH)
    parser.add_argument("--budget-seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    found = measure(args.samples, args.length, args.budget_seconds)
    sys.stdout.write("\n".join(lines(found)) + "\n")
    return 0 if all(row["goalMet"] for row in found["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
