"""Spend meters against the Firestore emulator: exact under parallel takes, named refusals."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.core import errors
from shared.core.models import utcnow
from shared.limits import spend


def meter(amount: int = 1, limit: int = 3, doc_id: str = "test_meter") -> spend.Meter:
    return spend.Meter(doc_id, amount, limit, "things per test", retry_after=7, by_use=True)


def test_a_take_past_the_limit_is_refused_by_name_and_takes_nothing(firestore_db: Any) -> None:
    spend.take([meter(2)])

    with pytest.raises(errors.RateLimited) as refused:
        spend.take([meter(2), meter(1, limit=0, doc_id="other")])

    assert "things per test" in refused.value.message
    assert refused.value.retry_after == 7
    assert spend.count("test_meter") == 2
    assert spend.count("other") == 0


def test_parallel_takes_never_pass_the_limit(firestore_db: Any) -> None:
    def attempt(_: int) -> bool:
        try:
            spend.take([meter(limit=5)])
        except errors.RateLimited:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        accepted = sum(pool.map(attempt, range(16)))

    assert accepted == 5
    assert spend.count("test_meter") == 5


def test_settling_gives_back_what_was_not_used(firestore_db: Any) -> None:
    hold = spend.take([meter(100, limit=1000)])

    hold.settle(30)
    hold.settle(0)  # once only

    assert spend.count("test_meter") == 30


def test_settling_keeps_counts_that_are_not_reservations(firestore_db: Any) -> None:
    counted = spend.Meter("counted", 1, 10, "messages", retry_after=1)
    hold = spend.take([counted, meter(100, limit=1000)])

    hold.settle(30)

    assert (spend.count("counted"), spend.count("test_meter")) == (1, 30)


def test_a_release_gives_everything_back(firestore_db: Any) -> None:
    spend.take([meter(100, limit=1000)]).release()

    assert spend.count("test_meter") == 0


def recorded(firestore_db: Any, hold: spend.Hold) -> Any:
    """A hold recorded in a commit of its own, as the chat admission records it."""
    batch = firestore_db.batch()
    spend.stage_record(batch, hold, "msg_1")
    batch.commit()
    return firestore_db.collection(spend.COLLECTION).document("hold_msg_1")


def test_a_recorded_hold_is_given_back_once_by_another_process(firestore_db: Any) -> None:
    counted = spend.Meter("counted", 1, 10, "messages", retry_after=1)
    record = recorded(firestore_db, spend.take([counted, meter(100, limit=1000)]))

    first, again = spend.release_recorded("msg_1"), spend.release_recorded("msg_1")

    assert (first, again) == (True, False)
    assert (spend.count("counted"), spend.count("test_meter")) == (0, 0)
    assert not record.get().exists


def test_settling_a_recorded_hold_deletes_its_record(firestore_db: Any) -> None:
    hold = spend.take([meter(100, limit=1000)])
    record = recorded(firestore_db, hold)
    assert record.get().get("expiresAt") is not None

    hold.settle(30)

    assert not record.get().exists
    assert spend.release_recorded("msg_1") is False
    assert spend.count("test_meter") == 30


def test_addresses_are_stored_only_as_hashes(firestore_db: Any) -> None:
    spend.take([spend.sessions_from("203.0.113.7", 5)])

    [doc] = list(firestore_db.collection("limits").stream())
    assert "203.0.113.7" not in doc.id
    assert spend.address_key("203.0.113.7") in doc.id
    assert doc.to_dict()["expiresAt"] is not None


def test_the_deployment_budget_holds_across_its_shards(
    firestore_db: Any, settings: Callable[..., None]
) -> None:
    settings(CHAT_TOKENS_PER_DAY_GLOBAL="1000", CHAT_TOKEN_BUDGET_SHARDS="4")

    def attempt(n: int) -> int:
        try:
            spend.take(spend.token_meters(f"usr_{n}", "", 100, 0))
        except errors.RateLimited as exc:
            assert "deployment" in exc.message
            return 0
        return 100

    with ThreadPoolExecutor(8) as pool:
        taken = sum(pool.map(attempt, range(40)))

    assert 0 < taken <= 1000
    day = utcnow().date().isoformat()
    assert sum(spend.count(f"global_{shard}_tokens_{day}") for shard in range(4)) == taken


def test_a_windowed_meter_that_is_off_costs_no_write(firestore_db: Any) -> None:
    assert spend.take([spend.sessions_from("203.0.113.9", 0)]).meters == []
    off_cap = spend.Meter("user_u_agents", 1, 0, "agents per guest", retry_after=1)
    assert spend.take([off_cap]).meters == [off_cap]  # caps count while off
    assert spend.count("user_u_agents") == 1
