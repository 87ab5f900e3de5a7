"""Silences: label matchers and a time window; a matching alert is recorded, not notified."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from shared.core import errors, ids
from shared.core.models import ApiModel, RequestModel, Text, utcnow
from shared.gcp import clients
from shared.web import etags

COLLECTION = "silences"
LABEL_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


class Matcher(RequestModel):
    name: str = Field(pattern=LABEL_NAME)
    value: str = Field(max_length=200)
    is_regex: bool = False
    is_equal: bool = True

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.is_regex:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"value is not a valid regular expression: {exc}") from None
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")
        hit = bool(re.fullmatch(self.value, actual)) if self.is_regex else actual == self.value
        return hit == self.is_equal


class SilenceCreate(RequestModel):
    matchers: list[Matcher] = Field(min_length=1, max_length=20)
    starts_at: datetime | None = Field(None, description="Default: now.")
    ends_at: datetime
    comment: Text = Field(min_length=1, max_length=500)
    created_by: Text = Field("operator", min_length=1, max_length=100)

    @model_validator(mode="after")
    def _window(self) -> SilenceCreate:
        for moment in (self.starts_at, self.ends_at):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("startsAt and endsAt need a time zone (e.g. a trailing Z)")
        if self.ends_at <= (self.starts_at or utcnow()):
            raise ValueError("endsAt must be after startsAt (and in the future)")
        if self.ends_at - (self.starts_at or utcnow()) > timedelta(days=90):
            raise ValueError("a silence lasts at most 90 days")
        return self


class SilencePublic(ApiModel):
    id: str
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    status: Literal["pending", "active", "expired"]
    updated_at: datetime = Field(description="When it was created or last expired (its ETag).")


class SilenceList(ApiModel):
    silences: list[SilencePublic]


def _public(silence_id: str, record: dict[str, Any], now: datetime) -> SilencePublic:
    if record["endsAt"] <= now:
        status: Literal["pending", "active", "expired"] = "expired"
    elif record["startsAt"] > now:
        status = "pending"
    else:
        status = "active"
    return SilencePublic(
        id=silence_id,
        matchers=[Matcher.model_validate(m) for m in record["matchers"]],
        starts_at=record["startsAt"],
        ends_at=record["endsAt"],
        comment=record.get("comment", ""),
        created_by=record.get("createdBy", ""),
        created_at=record["createdAt"],
        status=status,
        updated_at=record.get("expiredAt") or record["createdAt"],
    )


def create(request: SilenceCreate) -> SilencePublic:
    now = utcnow()
    silence_id = ids.new_id("sil")
    record = {
        "matchers": [m.model_dump(by_alias=True) for m in request.matchers],
        "startsAt": request.starts_at or now,
        "endsAt": request.ends_at,
        "comment": request.comment,
        "createdBy": request.created_by,
        "createdAt": now,
        # Kept a while after it ends, so what it silenced can be explained.
        "expiresAt": request.ends_at + timedelta(days=30),
    }
    clients.firestore().collection(COLLECTION).document(silence_id).create(record)
    return _public(silence_id, record, now)


def list_all(limit: int = 100) -> list[SilencePublic]:
    now = utcnow()
    query = clients.firestore().collection(COLLECTION).order_by("createdAt", direction="DESCENDING")
    return [_public(s.id, s.to_dict() or {}, now) for s in query.limit(limit).stream()]


def expire(silence_id: str, if_match: str | None = None) -> None:
    """End a silence now (kept on record, like Alertmanager's expire); 412 when `if_match`
    is not its ETag (checked against the version the guarded update writes over)."""
    # Check the shape first: Firestore refuses some ids (`__x__`) with an error, not a miss.
    if not ids.is_id("sil", silence_id):
        raise errors.NotFound(f"no silence {silence_id[:40]}")
    ref = clients.firestore().collection(COLLECTION).document(silence_id)
    snapshot = ref.get()
    if not snapshot.exists:
        raise errors.NotFound(f"no silence {silence_id}")
    record = snapshot.to_dict() or {}
    etags.check_if_match(if_match, etags.etag_of(record.get("expiredAt") or record["createdAt"]))
    now = utcnow()
    if record["endsAt"] > now:
        if if_match is None:
            ref.update({"endsAt": now, "expiredAt": now})
            return
        from google.api_core.exceptions import FailedPrecondition

        unchanged = clients.firestore().write_option(last_update_time=snapshot.update_time)
        try:
            ref.update({"endsAt": now, "expiredAt": now}, option=unchanged)
        except FailedPrecondition:
            raise errors.PreconditionFailed(
                "the silence changed meanwhile; read it again"
            ) from None


def matching(labels: dict[str, str], now: datetime) -> list[str]:
    """Ids of the silences active at `now` whose matchers all match `labels`."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = clients.firestore().collection(COLLECTION).where(filter=FieldFilter("endsAt", ">", now))
    found = []
    for snapshot in query.stream():
        record = snapshot.to_dict() or {}
        if record.get("startsAt") and record["startsAt"] > now:
            continue
        matchers = [Matcher.model_validate(m) for m in record.get("matchers", [])]
        if matchers and all(m.matches(labels) for m in matchers):
            found.append(snapshot.id)
    return sorted(found)
