"""Safe retries of POSTs that create or spend (`Idempotency-Key`, AIP-155 / Stripe manner).

A route registered with `Api.route(..., idempotent=True)` accepts an `Idempotency-Key`
header. The first request with a key claims it in Firestore (`idempotency_keys`, document
id = SHA-256 of principal, method, path and key), runs, and stores its answer for
`IDEMPOTENCY_TTL_HOURS`; a retry with the same key and body gets that answer again,
marked `Idempotent-Replayed: true`, and nothing runs twice. The same key with another
body is 422; a duplicate while the first is still running is 409.

Stored answers are masked with a keystream derived from the (unstored) key, so the
collection never holds a session token or an answer in clear. Only successes are kept:
an error answer (4xx, 5xx) releases the key, so a retry after a 429 or a 503 runs anew.
A streamed answer is kept as the place it can be read again (`Content-Location`, e.g. a
chat answer's event stream), and a replay reads it from there.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Response

from shared.core import deadline, errors
from shared.core.models import utcnow
from shared.gcp import clients, firestore
from shared.web import sse
from shared.web.route import Call
from shared.web.settings import get_web_settings

COLLECTION = "idempotency_keys"
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Headers of a first answer that a replay repeats (the rest are per request).
_KEPT_HEADERS = ("Content-Location", "ETag", "Location")

Replayer = Callable[[str], Response]


def principal_key(call: Call) -> str:
    """Whose key it is: the user, the operator, or (public routes) the client address."""
    principal = call.principal
    if principal is None:
        return f"ip:{call.client_ip}"
    user_id = getattr(principal, "user_id", None)
    return f"user:{user_id}" if user_id else f"{type(principal).__name__}"


def fingerprint(call: Call) -> str:
    """The request as the key promises it: the body's JSON (key order ignored), the query,
    and whether the answer is asked for as a stream (a retry gets the form it asked for,
    or 422)."""
    raw = call.raw_body
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True).encode() if raw.strip() else b""
    except ValueError:
        canonical = raw
    query = call.request.query_string
    form = b"stream" if sse.wanted(call.request) else b"json"
    return hashlib.sha256(canonical + b"\0" + query + b"\0" + form).hexdigest()


def run(call: Call, key: str, produce: Callable[[], Response], replay: Replayer) -> Response:
    """Answer `call` once per key: claim it, produce the answer and keep it, or replay it."""
    if not _KEY.match(key):
        raise errors.InvalidRequest(
            f"{HEADER} must be 1-255 visible ASCII characters",
            details=[{"field": HEADER, "issue": "malformed"}],
        )
    request = call.request
    scope = "\0".join((principal_key(call), request.method, request.path, key))
    doc_id = hashlib.sha256(scope.encode()).hexdigest()
    ref = clients.firestore().collection(COLLECTION).document(doc_id)
    print_ = fingerprint(call)
    owner = owner_of(principal_key(call))
    _claimed.set(ref)  # a streamed answer that fails later releases it (`release_claimed`)
    stored = firestore.optimistic(lambda: _claim(ref, print_, owner))
    if stored is not None:
        return _replay(stored, replay, scope)
    # The key follows what happened even past the request's deadline: released when
    # nothing committed, kept when the work committed (a commit in flight as the deadline
    # passed), so a retry with the key replays it instead of doing it twice.
    try:
        response = produce()
    except BaseException:
        with deadline.lifted():
            ref.delete()
        raise
    with deadline.lifted():
        if not 200 <= response.status_code < 300:
            ref.delete()
            return response
        _keep(ref, response, scope)
    return response


# The key record the request being answered claimed: its stream (which runs after the
# answer's headers, in this context) releases it when the work fails, as a JSON answer does.
_claimed: contextvars.ContextVar[Any] = contextvars.ContextVar("idempotency_claimed", default=None)


def release_claimed() -> None:
    """Release the key this request claimed (a streamed answer that failed), so a retry
    with it runs anew instead of replaying the failure. Best effort."""
    ref = _claimed.get()
    if ref is not None:
        with contextlib.suppress(Exception):
            ref.delete()


def owner_of(principal: str) -> str:
    """Whose keys a record holds, hashed (`forget` finds them by it)."""
    return hashlib.sha256(b"idempotency-owner\0" + principal.encode()).hexdigest()


def forget(principal: str) -> int:
    """Delete every key record of `principal` (e.g. `user:<id>`), so that no stored answer
    of an erased guest is replayed; how many were deleted."""
    from google.cloud.firestore import FieldFilter

    db = clients.firestore()
    query = db.collection(COLLECTION).where(filter=FieldFilter("owner", "==", owner_of(principal)))
    deleted = 0
    while refs := [snapshot.reference for snapshot in query.limit(450).stream()]:
        batch = db.batch()
        for ref in refs:
            batch.delete(ref)
        batch.commit()
        deleted += len(refs)
    return deleted


def _claim(ref: Any, print_: str, owner: str) -> dict[str, Any] | None:
    """Claim the key (None), or the stored record of an earlier request with it."""
    from google.api_core.exceptions import AlreadyExists

    settings = get_web_settings()
    now = utcnow()
    claim = {
        "owner": owner,
        "state": "running",
        "fingerprint": print_,
        "createdAt": now,
        "leaseUntil": now + timedelta(seconds=settings.idempotency_lease_seconds),
        "expiresAt": now + timedelta(hours=settings.idempotency_ttl_hours),
    }
    try:
        ref.create(claim)
        return None
    except AlreadyExists:
        pass
    snapshot = ref.get()
    data = snapshot.to_dict() if snapshot.exists else None
    if data is None:  # released in between: claim again (`optimistic` retries on NotFound)
        from google.api_core.exceptions import NotFound

        raise NotFound("released")
    running = data.get("state") == "running"
    if data["expiresAt"] <= now or (running and data["leaseUntil"] <= now):
        # Expired (TTL deletion lags by up to a day) or abandoned: take it over, unless
        # someone else did first (the precondition fails and `optimistic` reads again).
        unchanged = clients.firestore().write_option(last_update_time=snapshot.update_time)
        stale: dict[str, Any] = {"status": None, "body": None, "headers": {}, "stream": None}
        ref.update({**claim, **stale}, option=unchanged)
        return None
    if data.get("fingerprint") != print_:
        raise errors.Unprocessable(
            f"this {HEADER} was used with another request body; use a new key for a new request"
        )
    if running:
        raise errors.Conflict(
            f"a request with this {HEADER} is still being processed; retry when it has finished"
        )
    return data


def _seal(scope: str, data: bytes) -> str:
    """`data` masked with a keystream derived from the key's scope (key included), which is
    never stored: a stored answer (a session's token, say) is unreadable without the
    client's `Idempotency-Key`. The same call unmasks."""
    stream = hashlib.shake_256(b"idempotency-body\0" + scope.encode()).digest(len(data))
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, stream, strict=True))).decode()


def _unseal(scope: str, sealed: str) -> bytes:
    data = base64.b64decode(sealed)
    stream = hashlib.shake_256(b"idempotency-body\0" + scope.encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _keep(ref: Any, response: Response, scope: str) -> None:
    headers = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    record: dict[str, Any] = {"state": "done", "status": response.status_code, "headers": headers}
    if response.is_streamed:
        # A stream is kept as where it can be read again; one without such a place is not kept.
        location = response.headers.get("Content-Location")
        if not location:
            ref.delete()
            return
        record["stream"] = location
    else:
        record["body"] = _seal(scope, response.get_data())
        record["contentType"] = response.mimetype
    ref.update(record)


def _replay(stored: dict[str, Any], replay: Replayer, scope: str) -> Response:
    if stored.get("stream"):
        response = replay(str(stored["stream"]))
    else:
        response = Response(
            _unseal(scope, stored.get("body") or ""),
            status=int(stored["status"]),
            mimetype=stored.get("contentType") or "application/json",
        )
    response.headers.update(stored.get("headers") or {})
    response.headers[REPLAYED] = "true"
    return response
