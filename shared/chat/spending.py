"""What a chat run may spend: the tokens and message counts it reserves before the model.

A run reserves the longest answer plus an upper bound of its input (system prompt,
persona style, the message and the history budget) on the guest's, the client address's
and the deployment's daily meters, and one message on the address's minute meter, all in
one commit (`shared.limits.spend.take`); the run settles the reservation with the tokens
the answer really used. Parallel sends therefore cannot spend past a budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.limits import quotas, spend
from shared.llm.settings import get_model_settings

if TYPE_CHECKING:
    from shared.agents.store import AgentRecord

# Room for a persona's style text, which is chosen after the reservation.
PERSONA_STYLE_BYTES = 4000


def reserve(user_id: str, address: str, agent: AgentRecord, content: str) -> spend.Hold:
    """Take the run's meters, or `RateLimited` naming the limit (nothing taken)."""
    model_settings = get_model_settings()
    text_bytes = len(agent.system_prompt.encode()) + len(content.encode())
    tokens = spend.reservation(
        text_bytes + (PERSONA_STYLE_BYTES if agent.persona else 0),
        model_settings.chat_max_output_tokens,
        model_settings.chat_history_token_budget,
    )
    user_limit = quotas.get_quota_settings().chat_tokens_per_day
    meters = spend.token_meters(user_id, address, tokens, user_limit)
    if address:
        limit = spend.get_spend_settings().chat_messages_per_address_per_minute
        meters.append(spend.per_address_minute(address, "messages", limit, "chat messages"))
    return spend.take(meters)
