"""One admission for every model call: who pays, and the meters taken before the call.

A model call (a chat run, a persona chat, the router's cascade, an ops command's
planner) is admitted here before the model layer sees it: the tokens of its worst case
go on the day's token meters of the deployment, the client address and, for a guest,
the guest; a guest's message also counts on the address's messages-per-minute meter.
All of it is one commit (`spend.take`), refused with `RateLimited` naming the first
limit passed, with nothing taken. The returned `spend.Hold` is the call's budget
(`shared.llm.budget.Budget`): the model layer covers each call on it (a run of several
turns takes more when it needs more) and the caller settles it when the work ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.limits import quotas, spend


@dataclass(frozen=True)
class Payer:
    """Whose bounds a model call counts against: a guest (`user_id`) or an operator
    (`None`: the deployment's and the address's), from a client `address` ('' unknown)."""

    user_id: str | None
    address: str = ""


def admit(payer: Payer, tokens: int, *, message: bool) -> spend.Hold:
    """Take `tokens` on every token meter of `payer` (and, when `message`, one chat message
    on the address's minute meter), or `RateLimited` with nothing taken."""
    user_limit = quotas.get_quota_settings().chat_tokens_per_day
    meters = spend.token_meters(payer.user_id, payer.address, tokens, user_limit)
    if message and payer.address:
        limit = spend.get_spend_settings().chat_messages_per_address_per_minute
        meters.append(spend.per_address_minute(payer.address, "messages", limit, "chat messages"))
    return spend.take(meters)
