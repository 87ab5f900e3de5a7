"""The same routes as a typical FastAPI service: pydantic models, a `Depends` for the
current user, the synchronous Firestore client in `def` endpoints (FastAPI runs them in
its thread pool), served by uvicorn. Run: uvicorn bench.peers.fastapi_app:app

Equal work with the platform: the same documents (an agent as shared/agents/store.py
stores it, with the guest's totals and agent count in the same commit), the same query
(userId, createdAt desc, __name__ desc, limit + 1), the stats shards each agent lists read
in one batch, the same page token and the same JSON fields; persona routing calls the
platform's own router.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from google.cloud import firestore
from pydantic import BaseModel, Field

from shared.personas import routing

app = FastAPI(title="agent platform (FastAPI peer)")
db = firestore.Client()


class SessionCreated(BaseModel):
    sessionId: str
    userId: str
    token: str
    expiresAt: datetime


class SessionOut(BaseModel):
    sessionId: str
    userId: str
    expiresAt: datetime


class AgentIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=20)
    color: str = Field("#6366f1", pattern=r"^#[0-9a-fA-F]{6}$")
    icon: str = Field("bot", max_length=40)
    systemPrompt: str = Field("", max_length=20000)
    model: str = "offline"
    persona: str | None = None
    status: str = "active"


class StatsOut(BaseModel):
    totalRuns: int = 0
    successfulRuns: int = 0
    failedRuns: int = 0
    lastRunAt: datetime | None = None
    inputTokens: int = 0
    outputTokens: int = 0
    avgLatencyMs: float = 0.0


class AgentOut(BaseModel):
    id: str
    name: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    color: str = "#6366f1"
    icon: str = ""
    systemPrompt: str = ""
    model: str
    persona: str | None = None
    status: str
    createdAt: datetime
    updatedAt: datetime
    stats: StatsOut = Field(default_factory=StatsOut)


class AgentPage(BaseModel):
    agents: list[AgentOut]
    nextPageToken: str | None = None


class RouteIn(BaseModel):
    message: str = Field(min_length=1, max_length=4000)


class RouteOut(BaseModel):
    persona: str
    confidence: float
    secondary: str | None
    scores: dict[str, float]
    resonanceKey: str
    reasoning: str


def current_user(authorization: Annotated[str, Header()] = "") -> SessionOut:
    token = authorization.removeprefix("Bearer ").strip()
    snapshot = db.collection("sessions").document(hashlib.sha256(token.encode()).hexdigest()).get()
    data = snapshot.to_dict() if snapshot.exists else None
    if not data or data["expiresAt"] <= datetime.now(UTC):
        raise HTTPException(status_code=401, detail="invalid session")
    return SessionOut(**data)


CurrentUser = Annotated[SessionOut, Depends(current_user)]


@app.post("/v1/sessions", status_code=201, response_model=SessionCreated)
def create_session() -> SessionCreated:
    token = "gst_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session = SessionOut(
        sessionId="ses_" + secrets.token_hex(12),
        userId="usr_" + secrets.token_hex(12),
        expiresAt=now + timedelta(hours=24),
    )
    db.collection("sessions").document(hashlib.sha256(token.encode()).hexdigest()).create(
        {**session.model_dump(), "createdAt": now}
    )
    return SessionCreated(**session.model_dump(), token=token)


@app.get("/v1/sessions/current", response_model=SessionOut)
def read_session(user: CurrentUser) -> SessionOut:
    return user


@app.post("/v1/agents", status_code=201, response_model=AgentOut)
def create_agent(body: AgentIn, user: CurrentUser) -> AgentOut:
    # As the platform writes it: the agent, the guest's totals and the guest's agent count
    # in one commit, each with the guest data's expiry (session expiry + 30 days).
    now = datetime.now(UTC)
    expires = user.expiresAt + timedelta(days=30)
    agent_id = "agt_" + secrets.token_hex(12)
    record = {"userId": user.userId, **body.model_dump(), "createdAt": now, "updatedAt": now}
    batch = db.batch()
    batch.create(db.collection("agents").document(agent_id), {**record, "expiresAt": expires})
    batch.set(
        db.collection("agent_totals").document(user.userId),
        {"activeAgents": firestore.Increment(1), "expiresAt": expires},
        merge=True,
    )
    batch.set(
        db.collection("limits").document(f"user_{user.userId}_agents"),
        {"count": firestore.Increment(1), "updatedAt": now, "expiresAt": expires},
        merge=True,
    )
    batch.commit()
    return AgentOut(id=agent_id, **record)


def _stats(shards: list[dict]) -> StatsOut:
    runs = sum(int(s.get("totalRuns") or 0) for s in shards)
    latency = sum(float(s.get("latencyMsTotal") or 0.0) for s in shards)
    micros = [s["lastRunAtMicros"] for s in shards if isinstance(s.get("lastRunAtMicros"), int)]
    return StatsOut(
        totalRuns=runs,
        successfulRuns=sum(int(s.get("successfulRuns") or 0) for s in shards),
        failedRuns=sum(int(s.get("failedRuns") or 0) for s in shards),
        lastRunAt=datetime.fromtimestamp(max(micros) / 1e6, UTC) if micros else None,
        inputTokens=sum(int(s.get("inputTokens") or 0) for s in shards),
        outputTokens=sum(int(s.get("outputTokens") or 0) for s in shards),
        avgLatencyMs=round(latency / runs, 3) if runs else 0.0,
    )


@app.get("/v1/agents", response_model=AgentPage)
def list_agents(user: CurrentUser, limit: int = Query(20, ge=1, le=100)) -> AgentPage:
    query = (
        db.collection("agents")
        .where(filter=firestore.FieldFilter("userId", "==", user.userId))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .order_by("__name__", direction=firestore.Query.DESCENDING)
        .limit(limit + 1)
    )
    docs = list(query.stream())
    page = [(d.reference, d.to_dict() or {}) for d in docs[:limit]]
    shard_refs = [
        ref.collection("statShards").document(str(k))
        for ref, data in page
        for k in data.get("statShards") or []
    ]
    shards: dict[str, list[dict]] = {}
    for snapshot in db.get_all(shard_refs) if shard_refs else []:
        if snapshot.exists and snapshot.reference.parent.parent is not None:
            shards.setdefault(snapshot.reference.parent.parent.id, []).append(snapshot.to_dict())
    agents = [
        AgentOut(id=ref.id, **data, stats=_stats(shards.get(ref.id, []))) for ref, data in page
    ]
    next_token = None
    if len(docs) > limit:
        last = agents[-1]
        cursor = json.dumps({"t": last.createdAt.isoformat(), "id": last.id}).encode()
        next_token = base64.urlsafe_b64encode(cursor).decode().rstrip("=")
    return AgentPage(agents=agents, nextPageToken=next_token)


@app.post("/v1/personas/route", response_model=RouteOut)
def route_persona(body: RouteIn, user: CurrentUser) -> RouteOut:
    # The same routing code as the platform: the comparison is of everything around it.
    chosen = routing.route_message(body.message)
    return RouteOut(
        persona=chosen.persona,
        confidence=chosen.confidence,
        secondary=chosen.secondary,
        scores=chosen.scores,
        resonanceKey=chosen.resonance_key,
        reasoning=chosen.reasoning,
    )
