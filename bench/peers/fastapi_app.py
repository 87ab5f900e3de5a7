"""The same routes as a typical FastAPI service: pydantic models, a `Depends` for the
current user, the synchronous Firestore client in `def` endpoints (FastAPI runs them in
its thread pool), served by uvicorn. Run: uvicorn bench.peers.fastapi_app:app
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException
from google.cloud import firestore
from pydantic import BaseModel, Field

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
    description: str = ""
    systemPrompt: str = ""
    model: str = "offline"
    tags: list[str] = Field(default_factory=list, max_length=20)


class AgentOut(BaseModel):
    id: str
    name: str
    description: str = ""
    systemPrompt: str = ""
    model: str
    status: str
    createdAt: datetime
    updatedAt: datetime


class AgentPage(BaseModel):
    agents: list[AgentOut]
    nextPageToken: str | None = None


class RouteIn(BaseModel):
    message: str = Field(min_length=1, max_length=4000)


class RouteOut(BaseModel):
    persona: str
    confidence: float
    scores: dict[str, float]


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
    now = datetime.now(UTC)
    agent_id = "agt_" + secrets.token_hex(12)
    record = {**body.model_dump(), "userId": user.userId, "status": "active"}
    record |= {"createdAt": now, "updatedAt": now}
    db.collection("agents").document(agent_id).create(record)
    return AgentOut(id=agent_id, **record)


@app.get("/v1/agents", response_model=AgentPage)
def list_agents(user: CurrentUser, limit: int = 20) -> AgentPage:
    query = (
        db.collection("agents")
        .where(filter=firestore.FieldFilter("userId", "==", user.userId))
        .order_by("createdAt", direction=firestore.Query.DESCENDING)
        .order_by("__name__", direction=firestore.Query.DESCENDING)
        .limit(limit + 1)
    )
    docs = list(query.stream())
    agents = [AgentOut(id=d.id, **(d.to_dict() or {})) for d in docs[:limit]]
    return AgentPage(agents=agents, nextPageToken=docs[limit].id if len(docs) > limit else None)


@app.post("/v1/personas/route", response_model=RouteOut)
def route_persona(body: RouteIn, user: CurrentUser) -> RouteOut:
    words = body.message.lower().split()
    scores = {"engineer": float(sum(w in {"deploy", "code", "bug"} for w in words)), "friend": 0.1}
    persona = max(scores, key=lambda name: scores[name])
    return RouteOut(persona=persona, confidence=0.5, scores=scores)
