"""Chat quotas through the function: each limit works alone, and the daily budget says
exactly when it opens again."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.limits import quotas
from tests.functions.chat.conftest import Configure, new_owner


def send(client: Any, owner: Any, conversation_id: str, text: str) -> Any:
    return client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": text},
        headers=owner.headers,
    )


def conversation_of(client: Any, owner: Any) -> str:
    response = client.post(
        "/v1/conversations", json={"agentId": owner.agent.id}, headers=owner.headers
    )
    assert response.status_code == 201
    conversation_id: str = response.get_json()["id"]
    return conversation_id


def test_the_minute_limit_holds_with_the_daily_budget_off(
    client: Any, configure: Configure
) -> None:
    configure(CHAT_TOKENS_PER_DAY="0", CHAT_MESSAGES_PER_MINUTE="2")
    owner = new_owner(model="offline")
    conversation = conversation_of(client, owner)

    statuses = [send(client, owner, conversation, f"m{i}").status_code for i in range(3)]

    assert statuses == [200, 200, 429]


def test_the_daily_budget_holds_with_the_minute_limit_off(
    client: Any, configure: Configure, firestore_db: Any
) -> None:
    configure(CHAT_TOKENS_PER_DAY="100", CHAT_MESSAGES_PER_MINUTE="0")
    owner = new_owner(model="offline")
    conversation = conversation_of(client, owner)
    today = datetime.now(UTC).date().isoformat()
    firestore_db.collection(quotas.COLLECTION).document(owner.guest.user_id).set(
        {"day": today, "dayTokens": 100}
    )

    before = datetime.now(UTC)
    response = send(client, owner, conversation, "one more")
    after = datetime.now(UTC)

    midnight = (before + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    latest, earliest = (math.ceil((midnight - t).total_seconds()) for t in (before, after))
    assert response.status_code == 429
    assert earliest <= int(response.headers["Retry-After"]) <= latest


def test_the_quota_settings_default_to_the_documented_limits(settings: Any) -> None:
    settings(
        CHAT_MESSAGES_PER_MINUTE=None,
        CHAT_TOKENS_PER_DAY=None,
        CHAT_MAX_MESSAGES_PER_CONVERSATION=None,
    )

    defaults = quotas.get_quota_settings()

    assert (
        defaults.chat_messages_per_minute,
        defaults.chat_tokens_per_day,
        defaults.chat_max_messages_per_conversation,
    ) == (20, 200_000, 1000)
