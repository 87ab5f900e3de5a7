"""Spend bounds that hold across instances: counters in Firestore, taken before the work.

Each bound is a *meter*: one document of the `limits` collection per scope and window
(`addr_<hash>_messages_<minute>`, `user_<id>_tokens_<day>`, `global_<shard>_tokens_<day>`,
`user_<id>_agents`, ...) holding `count`. `take()` adds every meter's amount in one commit
of server-side increments, whose results come back with the commit, and refuses (and
takes back) when one went past its limit. Increments never conflict, so parallel requests
neither abort nor wait for each other, and the counters cannot be overshot: a request
that would pass a limit is refused before it does the work, and the refused amount is
given back at once.

Tokens are *reserved* before the model is called (the longest answer plus an upper
estimate of the input) and *settled* after with the tokens the answer really used, so
parallel sends cannot spend past a budget by more than the estimate's error.
The deployment's daily budget is spread over a few shard documents (each holding its
share), so every chat message does not write to one hot document.

Meter documents carry `expiresAt` (Firestore's TTL policy removes them): windows a day
after they close; per-guest counts with the guest's data.

A chat run's hold is also recorded (`hold_<answer id>`, in the admission's own commit) and
the record deleted when the hold settles, so a hold whose process died before settling
can be given back by another (`release_recorded`, from the sweep of abandoned answers).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import errors, log, state
from shared.core.models import utcnow
from shared.gcp import clients

COLLECTION = "limits"
HOLD_RECORD_PREFIX = "hold_"
HOLD_RECORD_DAYS = 2  # past the day windows a record's meters count in
# Terraform sets CHAT_TOKEN_BUDGET_SHARDS from the manifest's model slots (hundreds at the
# committed manifest; modules/runtime_config `token_budget_shards`).
MAX_TOKEN_BUDGET_SHARDS = 100_000
logger = log.get_logger("spend")


class SpendSettings(BaseSettings):
    """Bounds on what one client address, one guest and the deployment may spend."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    chat_messages_per_address_per_minute: int = Field(
        60,
        ge=0,
        description=(
            "Chat messages one client address may send per minute, across all instances and "
            "guests; 0 = off. Terraform gives Cloud Armor's chat throttle the same number."
        ),
    )
    chat_tokens_per_address_per_day: int = Field(
        1_000_000,
        ge=0,
        description="Model tokens one client address may spend per UTC day; 0 = off.",
    )
    chat_tokens_per_day_global: int = Field(
        20_000_000,
        ge=0,
        description="Model tokens the whole deployment may spend per UTC day; 0 = off.",
    )
    chat_token_budget_shards: int = Field(
        4,
        ge=1,
        le=MAX_TOKEN_BUDGET_SHARDS,
        description=(
            "Documents the deployment's daily budget is spread over (each holds its share), "
            "so chat messages do not all write one document. Terraform derives it from the "
            "manifest: one shard per meter write a second at the peak (docs/capacity.md)."
        ),
    )
    agents_per_guest: int = Field(
        100, ge=0, description="Agents one guest may have at a time; 0 = unlimited."
    )
    conversations_per_guest: int = Field(
        500, ge=0, description="Conversations one guest may have at a time; 0 = unlimited."
    )


@state.once
def get_spend_settings() -> SpendSettings:
    return SpendSettings()


@dataclass(frozen=True)
class Meter:
    """`amount` more of what `doc_id` counts, refused past `limit` (0 = no limit)."""

    doc_id: str
    amount: int
    limit: int
    what: str  # names the limit in the refusal
    retry_after: int
    expires_at: datetime | None = None
    by_use: bool = False  # a reservation that `Hold.settle` corrects to what was used

    @property
    def window_seconds(self) -> int | None:
        """The meter's window: a UTC day for tokens, a minute for per-address rates, none
        for a cap (agents or conversations per guest)."""
        if "_tokens_" in self.doc_id:
            return 86400
        return 60 if self.doc_id.startswith("addr_") else None

    @property
    def policy(self) -> str:
        """The limit's name in the RateLimit headers, e.g. `tokens-per-client-address-per-day`."""
        return re.sub(r"[^a-z0-9]+", "-", self.what.lower()).strip("-")

    @property
    def ref(self) -> Any:
        return clients.firestore().collection(COLLECTION).document(self.doc_id)


@dataclass
class Hold:
    """Meters taken for some work; the budget (`shared.llm.budget.Budget`) of its model calls.

    The token meters (`by_use`) reserve `reserved` tokens. Each model call is `cover`ed
    before it is sent: when the reservation left (`reserved - used`) is short of the
    call's worst case, the hold takes the difference from the same meters first (refused,
    with nothing taken, past a limit), so a run of several calls can never spend past a
    bound. `settle` corrects the meters to what was really used.
    """

    meters: list[Meter] = field(default_factory=list)
    settled: bool = False
    record: str | None = None  # the `hold_...` document that keeps it (`stage_record`)
    used: int = 0  # tokens the covered calls spent so far
    extended: int = 0  # tokens taken after the first reservation, by `cover`

    @property
    def reserved(self) -> int:
        """Tokens reserved on each token meter (they all reserve the same amount)."""
        first = next((m.amount for m in self.meters if m.by_use), 0)
        return first + self.extended

    def cover(self, tokens: int) -> None:
        """Make room for a call of at most `tokens`, or `RateLimited` (nothing taken)."""
        short = self.used + tokens - self.reserved
        more = [replace(m, amount=short) for m in self.meters if m.by_use]
        if short <= 0 or not more or self.settled:
            return
        totals = _add([(m, m.amount) for m in more])
        _refuse_past_limits(more, totals, lambda: add([replace(m, amount=-short) for m in more]))
        # Not added to the `hold_` record: if this process dies, the sweep gives back the
        # first reservation and the extension stays counted (the safe side).
        self.extended += short

    def spent(self, tokens: int) -> None:
        self.used += tokens

    def settle(self, used: int | None = None) -> None:
        """Correct the token reservations to `used` (default: what the covered calls
        spent). Best effort: logged on failure (an unsettled hold over-counts: safe)."""
        self._give_back(self.used if used is None else used)

    def release(self) -> None:
        """Give back everything taken, counts too (the work was refused or never done)."""
        self._give_back(None)

    def _give_back(self, used: int | None) -> None:
        if self.settled or not self.meters:
            return
        self.settled = True
        if used is None:
            changes = [(m, -m.amount - (self.extended if m.by_use else 0)) for m in self.meters]
        else:
            changes = [(m, used - self.reserved) for m in self.meters if m.by_use]
        try:
            if changes or self.record:
                _add(changes, delete=self.record)
        except Exception as exc:  # noqa: BLE001 - the work is done; the count only errs high
            logger.warning("spend not settled", extra={"fields": {"error": repr(exc)[:200]}})


def take(meters: list[Meter]) -> Hold:
    """Add every meter's amount at once, or `RateLimited` (naming the limit) with nothing
    taken. A cap (a meter without a window) whose limit is 0 counts without limiting, so
    that turning the cap on finds the true count; a windowed meter whose limit is 0 is off
    and costs nothing (its count would matter only within its window)."""
    meters = _counting(meters)
    if not meters:
        return Hold()
    totals = _add([(m, m.amount) for m in meters])
    _refuse_past_limits(meters, totals, Hold(meters).release)
    return Hold(meters)


def commit_with(batch: Any, meters: list[Meter], undo: Callable[[Any], None]) -> None:
    """Commit `batch` with the meters' amounts added in the same round trip. Past a limit,
    a second commit takes it all back (the meters, and what `undo` stages in the batch it
    is given) and `RateLimited` names the limit: for a cap, where refusals are rare."""
    meters = _counting(meters)
    for meter in meters:
        _stage(batch, meter, meter.amount, utcnow())
    results = batch.commit()
    totals = [_counted(result) for result in results[len(results) - len(meters) :]]

    def give_back() -> None:
        reverse = clients.firestore().batch()
        undo(reverse)
        for meter in meters:
            _stage(reverse, meter, -meter.amount, utcnow())
        reverse.commit()

    _refuse_past_limits(meters, totals, give_back)


def _counting(meters: list[Meter]) -> list[Meter]:
    # A windowed meter whose limit is 0 is off; a cap counts while off (see `take`).
    return [m for m in meters if m.amount > 0 and (m.limit or m.window_seconds is None)]


def _refuse_past_limits(
    meters: list[Meter], totals: list[int], give_back: Callable[[], None]
) -> None:
    over = [m for m, total in zip(meters, totals, strict=True) if m.limit and total > m.limit]
    if over:
        give_back()
        worst = over[0]
        raise errors.RateLimited(
            f"{worst.what}: the limit is {worst.limit}",
            retry_after=worst.retry_after,
            limit=worst.limit,
            window_seconds=worst.window_seconds,
            policy=worst.policy,
        )


def add(meters: list[Meter]) -> None:
    """Add the meters' amounts (negative to give back) without checking limits."""
    if meters:
        _add([(m, m.amount) for m in meters])


def stage_add(writer: Any, meter: Meter) -> None:
    """Add the meter's amount in `writer`'s commit (a batch or a transaction)."""
    _stage(writer, meter, meter.amount, utcnow())


def _add(changes: list[tuple[Meter, int]], delete: str | None = None) -> list[int]:
    """Increment each meter's document by its amount in one commit (deleting the document
    `delete` in it too); the new counts."""
    batch = clients.firestore().batch()
    if delete is not None:
        batch.delete(clients.firestore().collection(COLLECTION).document(delete))
    now = utcnow()
    for meter, amount in changes:
        _stage(batch, meter, amount, now)
    results = batch.commit()
    return [_counted(result) for result in results[-len(changes) :]] if changes else []


def _stage(writer: Any, meter: Meter, amount: int, now: datetime) -> None:
    from google.cloud.firestore import Increment

    fields: dict[str, Any] = {"count": Increment(amount), "updatedAt": now}
    if meter.expires_at is not None:
        fields["expiresAt"] = meter.expires_at
    writer.set(meter.ref, fields, merge=True)


def _counted(result: Any) -> int:
    value = result.transform_results[0]
    return int(value.integer_value or value.double_value)


def stage_record(writer: Any, hold: Hold, key: str) -> None:
    """Record what `hold` took in `writer`'s commit (`hold_<key>`), so that another process
    can give it back (`release_recorded`) if this one dies before the hold settles."""
    if not hold.meters:
        return
    hold.record = HOLD_RECORD_PREFIX + key
    writer.set(
        clients.firestore().collection(COLLECTION).document(hold.record),
        {
            "meters": [{"docId": m.doc_id, "amount": m.amount} for m in hold.meters],
            "expiresAt": utcnow() + timedelta(days=HOLD_RECORD_DAYS),
        },
    )


def release_recorded(key: str) -> bool:
    """Give back everything a recorded hold took, once; False if there is no record (it
    settled, or was released already)."""
    from google.api_core.exceptions import FailedPrecondition, NotFound
    from google.cloud.firestore import Increment

    db = clients.firestore()
    ref = db.collection(COLLECTION).document(HOLD_RECORD_PREFIX + key)
    snapshot = ref.get()
    if not snapshot.exists:
        return False
    batch = db.batch()
    # Deleted only as read: a concurrent release finds it changed and gives back nothing.
    batch.delete(ref, option=db.write_option(last_update_time=snapshot.update_time))
    now = utcnow()
    for meter in (snapshot.to_dict() or {}).get("meters") or []:
        batch.set(
            db.collection(COLLECTION).document(str(meter["docId"])),
            {"count": Increment(-int(meter["amount"])), "updatedAt": now},
            merge=True,
        )
    try:
        batch.commit()
    except (FailedPrecondition, NotFound):
        return False
    return True


def count(doc_id: str) -> int:
    snapshot = clients.firestore().collection(COLLECTION).document(doc_id).get()
    return int((snapshot.to_dict() or {}).get("count", 0)) if snapshot.exists else 0


# -- the platform's meters ------------------------------------------------------------


def address_key(address: str) -> str:
    """A client address as it appears in document ids: hashed, never stored in clear."""
    return hashlib.sha256(address.encode()).hexdigest()[:32]


def _minute(now: datetime) -> tuple[str, int, datetime]:
    epoch_minute = int(now.timestamp() // 60)
    retry_after = math.ceil((epoch_minute + 1) * 60 - now.timestamp())
    return str(epoch_minute), retry_after, now + timedelta(days=1)


def _day(now: datetime) -> tuple[str, int, datetime]:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return now.date().isoformat(), math.ceil((midnight - now).total_seconds()), midnight


def per_address_minute(address: str, what: str, limit: int, label: str) -> Meter:
    key, retry_after, expires = _minute(utcnow())
    return Meter(
        f"addr_{address_key(address)}_{what}_{key}",
        1,
        limit,
        f"{label} per client address per minute",
        retry_after,
        expires,
    )


def sessions_from(address: str, limit: int) -> Meter:
    return per_address_minute(address, "sessions", limit, "guest sessions")


def token_meters(user_id: str | None, address: str, tokens: int, user_limit: int) -> list[Meter]:
    """The day's token meters of the deployment (one shard) and, when known, the guest and
    the client address."""
    settings = get_spend_settings()
    day, retry_after, expires = _day(utcnow())
    shards = settings.chat_token_budget_shards
    global_limit = math.ceil(settings.chat_tokens_per_day_global / shards)
    shard = random.randrange(shards)  # noqa: S311 - load spreading, not security

    def tokens_of(doc_id: str, limit: int, whose: str) -> Meter:
        what = f"daily token budget of {whose}"
        return Meter(doc_id, tokens, limit, what, retry_after, expires, by_use=True)

    meters = [tokens_of(f"global_{shard}_tokens_{day}", global_limit, "the deployment")]
    if user_id:
        meters.insert(0, tokens_of(f"user_{user_id}_tokens_{day}", user_limit, "this guest"))
    if address:
        limit = settings.chat_tokens_per_address_per_day
        meters.append(
            tokens_of(f"addr_{address_key(address)}_tokens_{day}", limit, "this client address")
        )
    return meters


def tokens_spent_today(user_id: str) -> int:
    return count(f"user_{user_id}_tokens_{utcnow().date().isoformat()}")


def guest_count(
    user_id: str, what: str, amount: int = 1, expires_at: datetime | None = None
) -> Meter:
    """One more (or, with a negative amount, fewer) `agents` or `conversations` of a guest;
    `expires_at` (the guest's data expiry) is stamped on the count when given."""
    settings = get_spend_settings()
    limit = settings.agents_per_guest if what == "agents" else settings.conversations_per_guest
    return Meter(f"user_{user_id}_{what}", amount, limit, f"{what} per guest", 60, expires_at)
