"""The `chat-continuations` topic: streamed answers whose client went, left to be finished.

When the client of a streamed answer goes, the chat function stops its model call, stores
the text so far and the tokens spent so far on the pending answer and stages
`chat.answer.handed_off` in the outbox in the same commit; the continuation entry point
(`on_answer_continue` in `functions/chat`, deployed as `chat-continue`) finishes the
answer (`shared.chat.continuations`). The event carries ids only: the text, the model and
the tokens are on the answer, which is the one place a continuation reads them from.
"""

from __future__ import annotations

from shared.core.models import ApiModel

TOPIC = "chat-continuations"
HANDED_OFF = "chat.answer.handed_off"


class AnswerHandedOffData(ApiModel):
    """`data` of chat.answer.handed_off (camelCase on the wire)."""

    conversation_id: str
    message_id: str  # the pending answer
    user_id: str
    agent_id: str
