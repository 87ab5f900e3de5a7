"""Slack Block Kit for a group notification: severity colours and mention rules."""

from __future__ import annotations

from typing import Any

SEVERITIES = ("critical", "error", "warning", "info")
COLOURS = {
    "critical": "#B3261E",
    "error": "#E8710A",
    "warning": "#F9AB00",
    "info": "#1A73E8",
    "resolved": "#188038",
}
DEFAULT_MENTIONS = {"critical": "<!channel>", "error": "<!here>"}
MAX_ALERTS_SHOWN = 10


def normalise_severity(value: str | None) -> str:
    """Cloud Monitoring says `Critical`, `Error`, `Warning`, `No severity`; we keep four."""
    lowered = (value or "").strip().lower()
    return lowered if lowered in SEVERITIES else "warning"


def highest(severities: list[str]) -> str:
    ranked = [s for s in SEVERITIES if s in severities]
    return ranked[0] if ranked else "warning"


def escape(text: str) -> str:
    """Slack's mrkdwn control characters, so alert text cannot ping or link by itself."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention_for(severity: str, mentions: dict[str, str]) -> str:
    return mentions.get(severity, "")


def render(
    title: str, alerts: list[dict[str, Any]], mentions: dict[str, str] | None = None
) -> dict[str, Any]:
    """One message for a group. `alerts` are alert records (status, severity, summary...)."""
    mentions = DEFAULT_MENTIONS if mentions is None else mentions
    firing = [a for a in alerts if a.get("status") == "firing"]
    resolved = [a for a in alerts if a.get("status") != "firing"]
    severity = highest([str(a.get("severity")) for a in firing]) if firing else "resolved"
    colour = COLOURS.get(severity, COLOURS["warning"])
    state = f"FIRING:{len(firing)}" if firing else "RESOLVED"
    if firing and resolved:
        state += f" RESOLVED:{len(resolved)}"
    headline = f"[{state}] {title}"
    mention = mention_for(severity, mentions) if firing else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}}
    ]
    if mention:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{mention} {severity} alert"}}
        )
    detail: list[dict[str, Any]] = []
    for alert in alerts[:MAX_ALERTS_SHOWN]:
        detail.extend(_alert_blocks(alert))
    if len(alerts) > MAX_ALERTS_SHOWN:
        more = len(alerts) - MAX_ALERTS_SHOWN
        detail.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {more} more"}]}
        )
    fallback = f"{mention} {headline}".strip()
    return {
        "text": fallback,
        "blocks": blocks,
        "attachments": [{"color": colour, "blocks": detail}],
    }


def _alert_blocks(alert: dict[str, Any]) -> list[dict[str, Any]]:
    status = str(alert.get("status", "firing"))
    marker = ":red_circle:" if status == "firing" else ":large_green_circle:"
    lines = [f"{marker} *{escape(str(alert.get('summary', '')))[:500]}*"]
    if alert.get("description"):
        lines.append(escape(str(alert["description"]))[:1500])
    if alert.get("url"):
        lines.append(f"<{escape(str(alert['url']))}|Open>")
    labels = alert.get("labels") or {}
    context = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{status} · {alert.get('severity', '')} · {escape(context)}"[:1900],
                }
            ],
        },
    ]
