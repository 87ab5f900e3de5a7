"""The medians of several bench runs: one noisy run decides nothing on a shared machine.

    python -m bench.medians [RUN.json ...]   (default: the three newest full runs)

Reads the JSON files `make bench` writes and prints, per cell, the median over the runs of
each run's ratio (platform over FastAPI for the warm routes, platform over bare for cold
starts), with every run's value beside it; writes the same to bench/results/medians.md.
A run counts when it measured both the cold and the warm sections.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.report import COLD_GOAL, PEER_GOAL, ahead
from bench.run import RESULTS
from bench.warm import CLIENTS


def _full_runs(paths: Iterable[Path]) -> list[dict[str, Any]]:
    runs = [json.loads(path.read_text()) | {"file": path.name} for path in paths]
    return [run for run in runs if run.get("coldStart") and run.get("warm")]


def newest_full_runs(count: int, directory: Path = RESULTS) -> list[dict[str, Any]]:
    return _full_runs(sorted(directory.glob("bench-*.json"))[::-1])[:count][::-1]


def _warm_cell(row: dict[str, Any], figure: str, who: str = "platform") -> float | None:
    """`who` (the platform, or the bare function) ahead of FastAPI: lower latency or more
    requests per second."""
    mine, peer = row.get(who, {}), row.get("fastapi", {})
    if figure == "p50":
        latency = mine.get("latencyMs", {}).get("median"), peer.get("latencyMs", {}).get("median")
        return ahead(*latency, higher_is_better=False)
    rps = mine.get("throughput", {}).get("rps"), peer.get("throughput", {}).get("rps")
    return ahead(*rps, higher_is_better=True)


def _table(
    title: str,
    runs: list[dict[str, Any]],
    keys: list[str],
    cell: Callable[[dict[str, Any], str], float | None],
    passes: Callable[[float], bool],
) -> list[str]:
    lines = [
        f"**{title}**",
        "",
        "| row | median | " + " | ".join(r["file"] for r in runs) + " | meets |",
    ]
    lines.append("|---" * (len(runs) + 3) + "|")
    for key in keys:
        values = [cell(run, key) for run in runs]
        known = [v for v in values if v is not None]
        median = round(statistics.median(known), 2) if known else None
        shown = " | ".join("-" if v is None else f"{v:.2f}x" for v in values)
        verdict = "-" if median is None else ("yes" if passes(median) else "**no**")
        lines.append(
            f"| {key} | {'-' if median is None else f'{median:.2f}x'} | {shown} | {verdict} |"
        )
    return [*lines, ""]


def render(runs: list[dict[str, Any]]) -> str:
    def rows(section: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["file"], row["route"]): row for r in runs for row in r.get(section, [])}

    lines = [
        f"Medians over {len(runs)} runs ({', '.join(r['file'] for r in runs)}). "
        "Warm: FastAPI's figure over the platform's for p50 latency, the platform's over "
        "FastAPI's for requests/s (above 1 = platform ahead; goal 1.2x). Cold start: platform "
        "over bare (budget 1.3x).",
        "",
    ]
    floor_label = "the floor: a bare functions-framework function over FastAPI"
    for section, label, who in (
        ("warm", "equal work", "platform"),
        ("warmDeployed", "deployed configuration", "platform"),
        ("warm", floor_label, "bare"),
    ):
        table = rows(section)
        routes = list(dict.fromkeys(route for _, route in table))
        for figure, name in (("p50", "p50 latency"), ("rps", f"requests/s, {CLIENTS} clients")):
            keys = [f"{route} {figure}" for route in routes]

            def cell(
                run: dict[str, Any],
                key: str,
                figure: str = figure,
                table: Any = table,
                who: str = who,
            ) -> float | None:
                row = table.get((run["file"], key.rsplit(" ", 1)[0]))
                return _warm_cell(row, figure, who) if row else None

            lines += _table(
                f"Warm routes, {label}: {name}", runs, keys, cell, lambda m: m >= PEER_GOAL
            )
    exempt = {
        row["entry"]: row.get("notComparable") or "calls the model"
        for r in runs
        for row in r["coldStart"]
        if row.get("notComparable") or row.get("callsModel")
    }
    entries = [
        entry
        for entry in dict.fromkeys(row["entry"] for r in runs for row in r["coldStart"])
        if entry not in exempt
    ]

    def cold(run: dict[str, Any], entry: str) -> float | None:
        row = next((row for row in run["coldStart"] if row["entry"] == entry), None)
        return row.get("ratio") if row else None

    lines += _table("Cold start, platform over bare", runs, entries, cold, lambda m: m <= COLD_GOAL)
    lines += [f"Not held to the budget: {name}, which {why}." for name, why in exempt.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="*", type=Path, help="bench-*.json files (default: newest)")
    parser.add_argument("--count", type=int, default=3, help="newest full runs to take")
    args = parser.parse_args(argv)
    runs = _full_runs(args.runs) if args.runs else newest_full_runs(args.count)
    if not runs:
        parser.error("no full bench run (cold and warm sections) found")
    text = render(runs)
    (RESULTS / "medians.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
