"""What a chat run may spend: the tokens and message counts it reserves before the model.

A run is admitted (`shared.limits.admission`) for the longest answer plus an upper bound
of its input (system prompt, persona style, the message and the history budget), and one
message on the address's minute meter, in one commit. The hold is the run's budget: each
model turn is covered on it before it is sent (a run with tools takes more when a turn
needs more), and the run settles it with the tokens the answer really used. Parallel
sends therefore cannot spend past a budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.limits import admission, spend
from shared.llm.budget import tokens_for
from shared.llm.settings import get_model_settings

if TYPE_CHECKING:
    from shared.agents.store import AgentRecord

# Room for a persona's style text, which is chosen after the reservation.
PERSONA_STYLE_BYTES = 4000


def reserve(user_id: str, address: str, agent: AgentRecord, content: str) -> spend.Hold:
    """Take the run's meters, or `RateLimited` naming the limit (nothing taken)."""
    model_settings = get_model_settings()
    text_bytes = len(agent.system_prompt.encode()) + len(content.encode())
    tokens = tokens_for(
        text_bytes + (PERSONA_STYLE_BYTES if agent.persona else 0),
        model_settings.chat_max_output_tokens,
    )
    tokens += model_settings.chat_history_token_budget
    return admission.admit(admission.Payer(user_id, address), tokens, message=True)
