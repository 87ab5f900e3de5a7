"""`make docs`: docs/configuration.md, generated from the settings classes.

Every setting the functions read is a field of one pydantic-settings class; this page lists
them all with their environment variable, default, bounds and description, so the
documentation cannot drift from the code (`tests/tools/test_settings_doc.py` checks that
the committed page is what this writes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from shared.alerts.slack import SlackSettings
from shared.alerts.state import AlertSettings
from shared.chat.streams import StreamSettings
from shared.chat.sweeps import SweepSettings
from shared.chat.tool_runs import ToolRunSettings
from shared.core.settings import Settings
from shared.github.deliveries import WebhookSettings
from shared.identity.retention import RetentionSettings
from shared.limits.quotas import QuotaSettings
from shared.limits.spend import SpendSettings
from shared.llm.settings import ModelSettings
from shared.loadtest.runs import LoadtestSettings
from shared.mcp_server.settings import McpSettings
from shared.ops.planner import OpsSettings
from shared.personas.data import PersonaSettings
from shared.platform_ops.settings import PlatformSettings
from shared.web.settings import WebSettings

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
AREAS: list[tuple[str, type[BaseSettings]]] = [
    ("Core: every function", Settings),
    ("HTTP conventions: idempotent retries, SSE keep-alives", WebSettings),
    ("Chat streams: resumable answers", StreamSettings),
    ("Model (chat, persona router)", ModelSettings),
    ("Chat quotas", QuotaSettings),
    ("Spend bounds (per client address, per guest, per deployment)", SpendSettings),
    ("Chat runs with tools", ToolRunSettings),
    ("Retention of guests' data", RetentionSettings),
    ("Sweeps (`POST /v1/sweeps`, Cloud Scheduler every 10 minutes)", SweepSettings),
    ("Personas", PersonaSettings),
    ("GitHub webhook", WebhookSettings),
    ("Alerts", AlertSettings),
    ("Slack", SlackSettings),
    ("Load tests", LoadtestSettings),
    ("Ops commands", OpsSettings),
    ("Operator tools on the platform's functions (`ops`, `mcp`)", PlatformSettings),
    ("MCP server (`/mcp`)", McpSettings),
]
# `make run` itself (infra/local/stack.py), not a function.
LOCAL_STACK = [
    (
        "PORT",
        "8080",
        "Gateway port of `make run`; unless they are set, LOADTEST_TARGET_BASE_URL and"
        " MCP_ALLOWED_ORIGINS follow it.",
    ),
    ("FIRESTORE_PORT", "8081", "Firestore emulator port of `make run`."),
    ("PUBSUB_PORT", "8085", "Pub/Sub emulator port of `make run`."),
    ("FUNCTION_BASE_PORT", "8101", "First port of the functions behind the gateway."),
    ("OUTBOX_RELAY_SECONDS", "10", "How often `make run` ticks the outbox relay."),
    (
        "SWEEP_SECONDS",
        "600",
        "How often `make run` calls the sweep (`POST /v1/sweeps`, as Cloud Scheduler does"
        " every 10 minutes); only when ADMIN_TOKEN is set, since it is an operator route.",
    ),
]


# How long data lives: Firestore TTL policies (infra/firestore.tf) and the platform's own
# deletions. TTL deletion can lag by about a day.
RETENTION = [
    ("`sessions`", "`expiresAt` = creation + `SESSION_TTL_HOURS` (TTL); `DELETE /v1/me`"),
    (
        "`limits` (spend meters)",
        "a window's meter a day after the window (minute or UTC day) closes (TTL); a "
        "guest's agent and conversation counts with the guest's data (below)",
    ),
    ("`quotas`", "two days after the guest's last message (TTL); `DELETE /v1/me`"),
    ("`processed_events`, `webhook_deliveries`", "`expiresAt` (TTL)"),
    (
        "agents, conversations, messages, `agent_totals`",
        "`expiresAt` = the guest's session expiry + `GUEST_DATA_RETENTION_DAYS` (TTL); the "
        "sweep erases a guest whose agents are past it, and a guest whose data predates "
        "the field once it is older than `SESSION_TTL_HOURS` + the retention (agents' stat "
        "shards with them); an agent's deletion erases its conversations (background); "
        "`DELETE /v1/me` erases everything of a guest at once",
    ),
    (
        "answers left `pending` by a dead instance",
        "marked `failed` (`abandoned`) by the sweep after `CHAT_PENDING_SWEEP_MINUTES`",
    ),
]


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, list | tuple):
        return "`" + ",".join(str(v) for v in value) + "`" if value else "empty"
    if isinstance(value, dict):
        pairs = ",".join(f"{k}={v}" for k, v in value.items())
        return f"`{pairs}`" if pairs else "empty"
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for name, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            bound = getattr(item, name, None)
            if bound is not None:
                parts.append(f"{sign} {bound:g}" if isinstance(bound, float) else f"{sign} {bound}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            parts.append(f"`{pattern}`")
    return ", ".join(parts)


def render() -> str:
    lines = [
        "# Configuration",
        "",
        "Back to the [README](../README.md). Generated by `make docs` from the settings",
        "classes (`tools/settings_doc.py`); edit the classes, not this page.",
        "",
        "Every function reads environment variables through pydantic-settings and checks",
        "them when it starts: a bad value stops the start with the reason. `make run` passes",
        "the caller's environment to every function; Terraform sets each function's from",
        "the manifest, with secrets from Secret Manager.",
        "",
    ]
    for title, settings_class in AREAS:
        prefix = str(settings_class.model_config.get("env_prefix") or "")
        lines += [f"## {title}", "", f"`{settings_class.__module__}.{settings_class.__name__}`", ""]
        lines += ["| variable | default | bounds | meaning |", "|---|---|---|---|"]
        for name, field in settings_class.model_fields.items():
            variable = (prefix + name).upper()
            meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
            bounds = _bounds(field).replace("|", "\\|")
            lines.append(f"| `{variable}` | {_default(field)} | {bounds} | {meaning} |")
        lines.append("")
    lines += ["## Retention", "", "| data | removed |", "|---|---|"]
    lines += [f"| {data} | {removed} |" for data, removed in RETENTION]
    lines.append("")
    lines += ["## The local stack (`make run`)", "", "| variable | default | meaning |"]
    lines += ["|---|---|---|"]
    lines += [f"| `{name}` | `{default}` | {meaning} |" for name, default, meaning in LOCAL_STACK]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is stale")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        if PAGE.read_text() != page:
            sys.stderr.write(f"{PAGE.relative_to(ROOT)} is stale: run `make docs`\n")
            return 1
        return 0
    PAGE.write_text(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
