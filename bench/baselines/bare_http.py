"""Bare functions-framework HTTP functions: the platform's Firestore operations, nothing else.

No validation framework, no error mapping, no logging, no security headers: the floor the
platform's functions are compared against (persona routing calls the platform's router,
which is the route's work, not its frame). Documents have the platform's shapes, so one
session token works for the platform, these functions and the FastAPI peer alike.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import functions_framework
from google.cloud import firestore

db = firestore.Client()


def _json(body: Any, status: int = 200) -> tuple[str, int, dict[str, str]]:
    return json.dumps(body, default=str), status, {"Content-Type": "application/json"}


def _session(request: Any) -> dict[str, Any] | None:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    snapshot = db.collection("sessions").document(hashlib.sha256(token.encode()).hexdigest()).get()
    return snapshot.to_dict() if snapshot.exists else None


def _create_session() -> dict[str, Any]:
    token = "gst_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    record = {
        "sessionId": "ses_" + secrets.token_hex(12),
        "userId": "usr_" + secrets.token_hex(12),
        "createdAt": now,
        "expiresAt": now + timedelta(hours=24),
    }
    db.collection("sessions").document(hashlib.sha256(token.encode()).hexdigest()).create(record)
    return {**record, "token": token}


def _list_agents(user_id: str, limit: int = 20) -> list[dict[str, Any]]:
    query = (
        db.collection("agents")
        .where(filter=firestore.FieldFilter("userId", "==", user_id))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .order_by("__name__", direction=firestore.Query.DESCENDING)
        .limit(limit + 1)
    )
    return [{"id": s.id, **(s.to_dict() or {})} for s in query.stream()][:limit]


def _create_agent(user_id: str, body: dict[str, Any], expires: datetime) -> dict[str, Any]:
    """The agent, the guest's totals and agent count in one commit, as the platform does."""
    now = datetime.now(UTC)
    agent_id = "agt_" + secrets.token_hex(12)
    record = {
        "userId": user_id,
        "name": body.get("name", ""),
        "systemPrompt": body.get("systemPrompt", ""),
        "model": body.get("model", "offline"),
        "status": "active",
        "createdAt": now,
        "updatedAt": now,
    }
    batch = db.batch()
    batch.create(db.collection("agents").document(agent_id), {**record, "expiresAt": expires})
    batch.set(
        db.collection("agent_totals").document(user_id),
        {"activeAgents": firestore.Increment(1), "expiresAt": expires},
        merge=True,
    )
    batch.set(
        db.collection("limits").document(f"user_{user_id}_agents"),
        {"count": firestore.Increment(1), "updatedAt": now, "expiresAt": expires},
        merge=True,
    )
    batch.commit()
    return {"id": agent_id, **record}


def _route(message: str) -> dict[str, Any]:
    # The platform's own router (the same work); imported by the first routed message.
    from shared.personas import routing

    chosen = routing.route_message(message)
    return {
        "persona": chosen.persona,
        "confidence": chosen.confidence,
        "secondary": chosen.secondary,
        "scores": chosen.scores,
        "resonanceKey": chosen.resonance_key,
        "reasoning": chosen.reasoning,
    }


@functions_framework.http
def bare_routes(request: Any) -> Any:
    """The warm benchmark's routes, dispatched by hand."""
    route = (request.method, request.path.rstrip("/"))
    if route == ("POST", "/v1/sessions"):
        return _json(_create_session(), 201)
    session = _session(request)
    if session is None:
        return _json({"error": "unauthenticated"}, 401)
    if route == ("GET", "/v1/sessions/current"):
        return _json({"sessionId": session["sessionId"], "userId": session["userId"]})
    if route == ("GET", "/v1/agents"):
        return _json({"agents": _list_agents(session["userId"])})
    if route == ("POST", "/v1/agents"):
        body = request.get_json(silent=True) or {}
        expires = session["expiresAt"] + timedelta(days=30)
        return _json(_create_agent(session["userId"], body, expires), 201)
    if route == ("POST", "/v1/personas/route"):
        return _json(_route(str((request.get_json(silent=True) or {}).get("message", ""))))
    return _json({"error": "not found"}, 404)
