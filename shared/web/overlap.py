"""The session check alongside a read-only route's query.

Without a cached session, a list route reads the session and then its page: two round
trips in a row. When the token names its owner (`Api(claim=...)`), the route's handler
runs for the claimed owner while the session is read on a thread of its own; the edge
answers only once the session confirms that owner, and 401 otherwise, whatever the
handler found: the claim decides what is read, never what is shown. GET routes only, so
nothing is ever written for an unconfirmed claim.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from werkzeug.wrappers import Request

from shared.core import errors
from shared.web import pools
from shared.web.route import Authenticator, Claimed


def start(authenticate: Authenticator, request: Request) -> Future[Any]:
    # A pool of its own: the handler waiting for this runs on the request pool.
    return pools.submit("session-check", pools.server_threads(), lambda: authenticate(request))


def confirm(claimed: Claimed, checking: Future[Any]) -> None:
    """Return once the session confirms the claim; raise what refused it otherwise."""
    principal = checking.result()  # the session read is bounded like every Firestore call
    if not claimed.confirmed_by(principal):
        raise errors.Unauthenticated("the session is unknown, expired or revoked")
