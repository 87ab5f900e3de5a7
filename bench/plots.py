"""The benchmark's figures as PNG beside bench/results/latest.md: latency against
concurrency (chat capacity), cost per route and cost against a guest's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PLOTS = {
    "concurrency": "latest-concurrency.png",
    "cost": "latest-cost.png",
    "growth": "latest-growth.png",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def concurrency(capacity: dict[str, Any], target: Path) -> bool:
    levels = [row for row in capacity.get("levels", []) if row["firstTokenAddedMsP50"] is not None]
    if not levels:
        return False
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    streams = [row["streams"] for row in levels]
    axis.plot(streams, [row["firstTokenAddedMsP50"] for row in levels], "o-", label="p50")
    axis.plot(streams, [row["firstTokenAddedMsP95"] for row in levels], "s--", label="p95")
    axis.set_xlabel("open streams on one chat instance")
    axis.set_ylabel("first token added, ms")
    memory = axis.twinx()
    memory.plot(streams, [row["peakRssMiB"] for row in levels], "^:", color="grey", label="RSS")
    memory.set_ylabel("peak RSS, MiB")
    axis.legend(loc="upper left")
    axis.set_title(f"Chat: first token against open streams (THREADS={capacity['threads']})")
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return True


def cost(found: dict[str, Any], target: Path) -> bool:
    rows = found.get("rows") or []
    if not rows:
        return False
    plt = _pyplot()
    labels: list[str] = []
    parts: dict[str, list[float]] = {"cloudRun": [], "firestore": [], "pubsub": []}
    for row in rows:
        for name, measured in ((row["route"], row), (row["route"] + " (peer)", row.get("peer"))):
            if measured:
                labels.append(name)
                for key, values in parts.items():
                    values.append(measured["dollarsPerMillion"][key])
    figure, axis = plt.subplots(figsize=(9, 5))
    left = [0.0] * len(labels)
    services = (("cloudRun", "Cloud Run"), ("firestore", "Firestore"), ("pubsub", "Pub/Sub"))
    for key, title in services:
        axis.barh(labels, parts[key], left=left, label=title)
        left = [a + b for a, b in zip(left, parts[key], strict=True)]
    axis.invert_yaxis()
    axis.set_xlabel(f"$ per 1 M requests (list prices of {found['pricesAsOf']})")
    axis.legend()
    axis.set_title("Cost per route, counted while the bench ran")
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return True


def growth(found: dict[str, Any], target: Path) -> bool:
    rows = found.get("growth") or []
    if not rows:
        return False
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    for route in dict.fromkeys(row["route"] for row in rows):
        mine = [row for row in rows if row["route"] == route]
        axis.plot(
            [row["documents"] for row in mine],
            [row["dollarsPerMillion"]["total"] for row in mine],
            "o-",
            label=route,
        )
    axis.set_xscale("log")
    axis.set_yscale("log")  # a route that grows with the data is orders of magnitude apart
    axis.set_xlabel("documents per guest")
    axis.set_ylabel("$ per 1 M requests")
    axis.legend(fontsize="small")
    axis.set_title("Cost of a request against the guest's data")
    figure.tight_layout()
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return True


def write(results: dict[str, Any], directory: Path) -> list[str]:
    """The plots the results have data for; their file names."""
    found = results.get("cost") or {}
    written = []
    for name, draw, data in (
        ("concurrency", concurrency, results.get("capacity") or {}),
        ("cost", cost, found),
        ("growth", growth, found),
    ):
        if "skipped" not in data and draw(data, directory / PLOTS[name]):
            written.append(PLOTS[name])
    return written
