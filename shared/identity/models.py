"""Request and response shapes of the sessions API."""

from __future__ import annotations

from datetime import datetime

from shared.core.models import ApiModel


class SessionCreated(ApiModel):
    session_id: str
    user_id: str
    token: str
    expires_at: datetime


class SessionPublic(ApiModel):
    session_id: str
    user_id: str
    expires_at: datetime
