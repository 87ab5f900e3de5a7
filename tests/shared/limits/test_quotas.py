"""Per-user chat quotas against the Firestore emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.core import errors, state
from shared.limits import quotas, spend


@pytest.fixture
def limits(firestore_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHAT_MESSAGES_PER_MINUTE", "2")
    monkeypatch.setenv("CHAT_TOKENS_PER_DAY", "100")
    state.reset()
    yield
    monkeypatch.undo()
    state.reset()


def test_messages_beyond_the_minute_are_refused_with_retry_after(limits: None) -> None:
    quotas.admit_message("usr_a")
    quotas.admit_message("usr_a")

    with pytest.raises(errors.RateLimited) as refused:
        quotas.admit_message("usr_a")

    assert 1 <= refused.value.retry_after <= 60


def test_limits_are_per_user(limits: None) -> None:
    quotas.admit_message("usr_a")
    quotas.admit_message("usr_a")

    quotas.admit_message("usr_b")


def test_a_new_minute_opens_a_new_window(limits: None, firestore_db: Any) -> None:
    quotas.admit_message("usr_a")
    quotas.admit_message("usr_a")
    firestore_db.collection("quotas").document("usr_a").update(
        {"windowStart": datetime.now(UTC) - timedelta(minutes=2)}
    )

    quotas.admit_message("usr_a")


def test_spent_daily_tokens_refuse_until_midnight(limits: None) -> None:
    quotas.admit_message("usr_a")
    spend.add(spend.token_meters("usr_a", "", 60, 0))
    spend.add(spend.token_meters("usr_a", "", 60, 0))

    with pytest.raises(errors.RateLimited) as refused:
        quotas.admit_message("usr_a")

    assert spend.tokens_spent_today("usr_a") == 120
    assert 1 <= refused.value.retry_after <= 24 * 3600


def test_yesterdays_tokens_do_not_count(limits: None, firestore_db: Any) -> None:
    firestore_db.collection("limits").document("user_usr_a_tokens_2000-01-01").set({"count": 500})

    quotas.admit_message("usr_a")

    assert spend.tokens_spent_today("usr_a") == 0


def test_an_admission_decided_on_a_stale_read_is_not_committed(
    limits: None, firestore_db: Any
) -> None:
    from google.api_core.exceptions import AlreadyExists, FailedPrecondition

    ref = quotas.quota_ref("usr_a")
    for _ in range(2):  # the document missing, then existing
        stale = ref.get()
        quotas.admit_message("usr_a")  # someone else takes a slot in between
        batch = firestore_db.batch()
        quotas.stage_admission(batch, stale)
        with pytest.raises((AlreadyExists, FailedPrecondition)):
            batch.commit()

    assert ref.get().to_dict()["windowCount"] == 2
