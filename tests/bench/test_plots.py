"""The plots and the cost tables are drawn from the results the bench writes."""

from __future__ import annotations

from pathlib import Path

from bench import cost, plots, report


def _row(route: str, reads: float, documents: int = 10) -> dict:
    per = {"reads": reads, "writes": 1.0, "deletes": 0.0, "published": 1.0}
    per |= {"publishedBytes": 300.0, "delivered": 2.0, "cpuSeconds": 0.004}
    return {
        "route": route,
        "documents": documents,
        "perRequest": per,
        "phasesMs": {"client": 5.0, "framework": 1.0, "firestore": 4.0},
        "dollarsPerMillion": cost.dollars_per_million(per, None),
    }


RESULTS = {
    "cost": {
        "pricesAsOf": cost.PRICES_AS_OF,
        "priceSources": list(cost.PRICE_SOURCES),
        "requests": 10,
        "rows": [_row("GET /v1/agents", 11), _row("POST .../messages (chat message)", 3)],
        "growth": [_row("GET /v1/agents", 11, 10), _row("GET /v1/agents", 22, 1000)],
    },
    "capacity": {
        "threads": 80,
        "memory": "1Gi",
        "firstTokenDelayMs": 1000,
        "answerSeconds": 2,
        "idleRssMiB": 90,
        "levels": [
            {
                "streams": n,
                "completed": n,
                "failures": 0,
                "firstTokenAddedMsP50": 10.0 * n,
                "firstTokenAddedMsP95": 20.0 * n,
                "streamSecondsMax": 3.0,
                "peakRssMiB": 190 + n,
            }
            for n in (1, 10)
        ],
    },
}


def test_every_section_with_data_gets_a_png(tmp_path: Path) -> None:
    written = plots.write(RESULTS, tmp_path)
    assert written == list(plots.PLOTS.values())
    for name in written:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_a_skipped_section_gets_no_plot(tmp_path: Path) -> None:
    assert plots.write({"cost": {"skipped": "no"}, "capacity": {"skipped": "no"}}, tmp_path) == []


def test_dollars_add_up_from_the_list_prices() -> None:
    per = {"reads": 10.0, "writes": 1.0, "deletes": 1.0, "published": 1.0}
    per |= {"publishedBytes": 10.0, "delivered": 1.0, "cpuSeconds": 0.01}
    dollars = cost.dollars_per_million(per, None)
    firestore = (10 * cost.FIRESTORE_READ + cost.FIRESTORE_WRITE + cost.FIRESTORE_DELETE) * 1e6
    assert dollars["firestore"] == round(firestore, 3)
    # Two messages (one published, one delivered), each billed at the 1,000-byte minimum.
    assert dollars["pubsub"] == round(2 * 1000 / 2**40 * cost.PUBSUB_TIB * 1e6, 3)
    run = 0.01 * (cost.CLOUD_RUN_VCPU_SECOND + 0.5 * cost.CLOUD_RUN_GIB_SECOND)
    assert dollars["cloudRun"] == round((run + cost.CLOUD_RUN_REQUEST) * 1e6, 3)


def test_the_cost_table_lists_every_route_and_the_growth() -> None:
    text = "\n".join(report.cost_lines(RESULTS["cost"]))
    assert "| GET /v1/agents | 11.00 |" in text
    assert "| GET /v1/agents | 1000 | 22.00 |" in text
    assert cost.PRICE_SOURCES[0] in text
