"""The benchmark results as Markdown tables (bench/results/latest.md, pasted in the README)."""

from __future__ import annotations

from typing import Any

from bench import routing
from bench.warm import CLIENTS

COLD_GOAL = 1.3
PEER_GOAL = 1.2
CHAT_GOAL_MS = 20.0


def _spread(stats: dict[str, Any] | None, digits: int = 0) -> str:
    if not stats or stats.get("median") is None:
        return "-"
    fmt = f"{{:.{digits}f}}"
    median, low, high = (fmt.format(stats[k]) for k in ("median", "min", "max"))
    return f"{median} ({low}-{high})"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _goal(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def first_work(calls: list[list[Any]]) -> str:
    """A first answer's calls in words: '1 get, 1 query', '3 transactions, 2 queries'."""
    kinds = [
        ("transaction", sum(1 for c in calls if c[0] == "begin")),
        ("get", sum(1 for c in calls if c[0] == "get" and not c[2])),
        ("query", sum(1 for c in calls if c[0] == "query")),
        ("commit", sum(1 for c in calls if c[0] == "commit" and not c[3])),
        ("publish", sum(1 for c in calls if c[0] == "publish")),
    ]
    words = [
        f"{n} {kind}{'' if n == 1 else 'es' if kind.endswith('sh') else 's'}"
        for kind, n in kinds
        if n
    ]
    return ", ".join(words).replace("querys", "queries") or "none"


def cold_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| entry point | first successful answer | its calls | platform ms | bare ms | ratio "
        "| <= 1.3x bare |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "skipped" in row and not row["platformMs"]["n"]:
            lines.append(
                f"| {row['entry']} | {row['probe']} | | skipped: {row['skipped'][:80]} | | | |"
            )
            continue
        exempt = row.get("notComparable") or row.get("callsModel")
        ok = None if exempt or row["ratio"] is None else row["ratio"] <= COLD_GOAL
        calls = "page" if row["bare"] == "bare_page" else first_work(row.get("firstCalls", []))
        if row.get("firstWork"):
            calls += f" + `{row['firstWork']}`"
        lines.append(
            f"| {row['entry']} | {row['probe']} | {calls} | {_spread(row['platformMs'])} | "
            f"{_spread(row['bareMs'])} | {_ratio(row['ratio'])} | {_goal(ok)} |"
        )
    return lines


def import_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| entry point | import ms | bare ms | ratio | heaviest top-level imports |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['entry']} | import failed | | | |")
            continue
        lines.append(
            f"| {row['entry']} | {_spread(row['platformMs'])} | {_spread(row['bareMs'])} | "
            f"{_ratio(row['ratio'])} | {', '.join(row['heaviest'])} |"
        )
    return lines


def _cell(row: dict[str, Any], kind: str, key: str) -> tuple[str, float | None]:
    data = row.get(kind) or {}
    if "skipped" in data:
        return "skipped", None
    if key == "latency":
        stats = data.get("latencyMs") or {}
        fails = stats.get("failures", 0)
        text = _spread(stats, 2) + (f" ({fails} failed)" if fails else "")
        return text, stats.get("median")
    tput = data.get("throughput") or {}
    fails = tput.get("failures", 0)
    text = f"{tput.get('rps', '-')}" + (f" ({fails} failed)" if fails else "")
    return text, tput.get("rps")


def ahead(mine: float | None, other: float | None, higher_is_better: bool) -> float | None:
    """How far the platform is ahead of another server (> 1 = ahead)."""
    if not mine or not other:
        return None
    return round(mine / other if higher_is_better else other / mine, 2)


def warm_tables(rows: list[dict[str, Any]], samples: int, seconds: float) -> list[str]:
    """Latency and throughput, with the platform's lead over bare and over the peer
    (> 1 = platform ahead); the goal is >= PEER_GOAL over FastAPI, >= 1/1.3 of bare."""
    lines: list[str] = []
    for key, title, higher in (
        ("latency", f"Warm latency, one client, ms: median (min-max) of {samples}", False),
        ("rps", f"Throughput, {CLIENTS} concurrent clients for {seconds:g} s, requests/s", True),
    ):
        lines += [
            title,
            "",
            "| route | platform | bare | FastAPI | ahead of bare | ahead of FastAPI "
            f"| >= {PEER_GOAL}x FastAPI |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            cells = {kind: _cell(row, kind, key) for kind in ("platform", "bare", "fastapi")}
            mine, bare, peer = (cells[k][1] for k in ("platform", "bare", "fastapi"))
            vs_bare, vs_peer = ahead(mine, bare, higher), ahead(mine, peer, higher)
            ok = None if vs_peer is None else vs_peer >= PEER_GOAL
            lines.append(
                f"| {row['route']} | {cells['platform'][0]} | {cells['bare'][0]} | "
                f"{cells['fastapi'][0]} | {_ratio(vs_bare)} | {_ratio(vs_peer)} | {_goal(ok)} |"
            )
        lines.append("")
    return lines[:-1]


def chat_lines(chat: dict[str, Any]) -> list[str]:
    if "skipped" in chat:
        return [f"Chat time to first byte: skipped ({chat['skipped']})."]
    added = chat["addedOverDelayMs"]
    return [
        "| chat over SSE (fake Messages API) | ms |",
        "|---|---|",
        f"| model server's first-chunk delay | {chat['modelFirstChunkDelayMs']:.0f} |",
        f"| first body byte (message.created) | {_spread(chat['chatFirstByteMs'], 1)} |",
        f"| first message.delta | {_spread(chat['chatFirstDeltaMs'], 1)} |",
        f"| first delta straight from the model server "
        f"| {_spread(chat['modelDirectFirstDeltaMs'], 1)} |",
        f"| **added by the platform** (first delta - delay) | **{added:.1f}** "
        f"(goal < {CHAT_GOAL_MS:.0f}: {_goal(added < CHAT_GOAL_MS)}) |",
        f"| added over calling the model server directly | {chat['addedOverDirectMs']:.1f} |",
    ]


def over_lines(agents: dict[str, Any], sessions: dict[str, Any]) -> list[str]:
    """The function's own cost: its route against the bare Firestore call it makes."""
    lines = [
        "| route against its bare Firestore call, one client | function ms | bare ms | added |",
        "|---|---|---|---|",
    ]
    if "skipped" in sessions:
        lines.append(f"| POST /v1/sessions vs create | skipped: {sessions['skipped']} | | |")
    else:
        lines.append(
            f"| POST /v1/sessions vs `create` | {_spread(sessions['platformMs'], 2)} | "
            f"{_spread(sessions['bareCreateMs'], 2)} | {sessions['addedMs']:.2f} |"
        )
    if "skipped" in agents:
        lines.append(f"| GET /v1/agents vs query | skipped: {agents['skipped']} | | |")
    else:
        lines.append(
            f"| GET /v1/agents vs the same query ({agents['documents']} docs) | "
            f"{_spread(agents['platformMs'], 2)} | {_spread(agents['bareQueryMs'], 2)} | "
            f"{agents['addedMs']:.2f} |"
        )
    return lines


def _ops(per: dict[str, Any]) -> str:
    return (
        f"{per['reads']:.2f} | {per['writes']:.2f} | {per['deletes']:.2f} | "
        f"{per['published']:.2f} | {per.get('delivered', 0):.2f} | {per['cpuSeconds'] * 1000:.2f}"
    )


def cost_lines(cost: dict[str, Any]) -> list[str]:
    """Operations per request, counted in the servers, and $ per million requests."""
    if "skipped" in cost:
        return [f"Cost per route: skipped ({cost['skipped']})"]
    header = (
        "| {first} | reads | writes | deletes | published | delivered | CPU ms "
        "| Cloud Run $ | Firestore $ | Pub/Sub $ | **$ per 1 M** |"
    )
    rule = "|---|---|---|---|---|---|---|---|---|---|---|"
    lines = [
        f"Per request, counted inside the servers over {cost['requests']} requests "
        "(session cache off; FastAPI peer on the line below ours); $ per 1 M requests at "
        f"list prices of {cost['pricesAsOf']} ({', '.join(cost['priceSources'])}).",
        "",
        header.format(first="route"),
        rule,
    ]
    for row in cost["rows"]:
        dollars = row["dollarsPerMillion"]
        lines.append(
            f"| {row['route']} | {_ops(row['perRequest'])} | {dollars['cloudRun']:.2f} | "
            f"{dollars['firestore']:.2f} | {dollars['pubsub']:.2f} | **{dollars['total']:.2f}** |"
        )
        if "peer" in row:
            peer = row["peer"]
            lines.append(
                f"| (FastAPI peer) | {_ops(peer['perRequest'])} | "
                f"{peer['dollarsPerMillion']['cloudRun']:.2f} | "
                f"{peer['dollarsPerMillion']['firestore']:.2f} | "
                f"{peer['dollarsPerMillion']['pubsub']:.2f} | "
                f"{peer['dollarsPerMillion']['total']:.2f} |"
            )
    if cost.get("daily"):
        day = cost["daily"]
        parts = ", ".join(
            f"{day['mix'][route]:,} {route} ${dollars:.4f}"
            for route, dollars in day["dollarsByRoute"].items()
        )
        lines += [
            "",
            f"**A day** of 100 guests and 2,000 chat messages: **${day['dollarsPerDay']:.4f} "
            f"a day** ({parts}). Not included: the free tiers (which cover all of it), the "
            "always-on minimum instances (chat keeps one), the model's tokens, storage and "
            "egress.",
        ]
    lines += [
        "",
        "Where the time goes, ms per request (means over the same requests, one client): "
        "framework = HTTP server, functions-framework/Flask (or FastAPI/uvicorn for the "
        "peer) and the loopback, everything outside the platform's `Api` edge; validation "
        "= request models; JSON = the answer's serialization; other = the rest of the edge "
        "(handler code, auth checks, headers). The peer's framework column includes its "
        "validation and JSON.",
        "",
        "| route | client | framework | Firestore | validation | JSON | other |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in cost["rows"]:
        for name, measured in ((row["route"], row), ("(FastAPI peer)", row.get("peer"))):
            if not measured:
                continue
            phase = measured["phasesMs"]
            cells = [
                f"{phase[key]:.2f}" if key in phase else "-"
                for key in ("client", "framework", "firestore", "validation", "json", "other")
            ]
            lines.append(f"| {name} | {' | '.join(cells)} |")
    if cost.get("growth"):
        lines += [
            "",
            "**Growth**: the same figures with N documents per guest (agents for the agents "
            "routes, messages in the conversation for the chat routes)",
            "",
            header.format(first="route | N").replace("| reads", "| reads", 1),
            rule + "---|",
        ]
        for row in cost["growth"]:
            dollars = row["dollarsPerMillion"]
            lines.append(
                f"| {row['route']} | {row['documents']} | {_ops(row['perRequest'])} | "
                f"{dollars['cloudRun']:.2f} | {dollars['firestore']:.2f} | "
                f"{dollars['pubsub']:.2f} | **{dollars['total']:.2f}** |"
            )
    return lines


def capacity_lines(found: dict[str, Any]) -> list[str]:
    if "skipped" in found:
        return [f"Chat capacity: skipped ({found['skipped']})"]
    lines = [
        f"One chat instance (THREADS = concurrency {found['threads']}, memory {found['memory']}) "
        f"against a model that waits {found['firstTokenDelayMs']:.0f} ms for its first token "
        f"and then streams for about {found['answerSeconds']:g} s; idle RSS "
        f"{found['idleRssMiB']:.0f} MiB. First token = time to the first `message.delta` "
        "minus the model's wait.",
        "",
        "| open streams | completed | failed | first token added p50 ms | p95 ms "
        "| longest stream s | peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in found["levels"]:
        lines.append(
            f"| {row['streams']} | {row['completed']} | {row['failures']} | "
            f"{row['firstTokenAddedMsP50']} | {row['firstTokenAddedMsP95']} | "
            f"{row['streamSecondsMax']} | {row['peakRssMiB']:.0f} |"
        )
    if "recommended" in found:
        advice = found["recommended"]
        lines += [
            "",
            f"Supported by this run: concurrency {advice['concurrency']}, memory "
            f"{advice['memoryMiB']} MiB ({advice['rule']}); the manifest's chat entry must not "
            "promise more (tests/infra/test_chat_capacity.py).",
        ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    out = [
        f"Run {meta['finishedAt']} on {meta['machine']}; total {meta['totalSeconds']:.0f} s.",
        "",
        f"**Cold start** (process start to first successful answer, ms: median (min-max) of "
        f"{meta['coldSamples']}; bare = a functions-framework function making the same "
        "Firestore and Pub/Sub calls, in the same order, as the entry's first answer did "
        "(recorded in a counted start; a transaction counts its reads and writes inside))",
        "",
        *cold_table(results["coldStart"]),
        "",
        "**Import time** of each entry module in a fresh process "
        f"(ms, {meta['importSamples']} samples; heaviest imports from `-X importtime`)",
        "",
        *import_table(results["importTime"]),
        "",
        "**Warm routes, equal work** (platform with SESSION_CACHE_SECONDS=0: every server "
        "reads the session on every request), one instance each: platform (gunicorn, "
        "THREADS = manifest concurrency), bare functions-framework, FastAPI on uvicorn; same "
        "emulator, same run.",
        "",
        *warm_tables(results["warm"], meta["warmSamples"], meta["throughputSeconds"]),
        "",
        "**Warm routes, deployed configuration** (platform with its 5 s session cache on; "
        "bare and FastAPI unchanged)",
        "",
        *warm_tables(
            results.get("warmDeployed") or [], meta["warmSamples"], meta["throughputSeconds"]
        ),
        "",
        "**Chat**",
        "",
        *chat_lines(results["chat"]),
        "",
        *over_lines(results["agentsOverQuery"], results["sessionsOverCreate"]),
        "",
        "**Cost per route**",
        "",
        *cost_lines(results.get("cost") or {"skipped": "not run"}),
        "",
        "**Chat capacity** of one instance",
        "",
        *capacity_lines(results.get("capacity") or {"skipped": "not run"}),
        "",
        "**Persona routing** of one long message, in process",
        "",
        *routing.lines(results.get("routing") or {"skipped": "not run"}),
    ]
    if results.get("plots"):
        out += ["", "Plots: " + ", ".join(f"[{name}]({name})" for name in results["plots"])]
    if results.get("notes"):
        out += ["", "Notes:", *[f"- {note}" for note in results["notes"]]]
    return "\n".join(out) + "\n"
