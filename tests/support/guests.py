"""Guest sessions for tests, created through the real `shared.identity.sessions` code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.identity import sessions


@dataclass(frozen=True)
class Guest:
    token: str
    user_id: str
    session_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_guest() -> Guest:
    """A live session stored in the (emulated) Firestore."""
    token, principal = sessions.create_session()
    return Guest(token, principal.user_id, principal.session_id)
