"""shared.agents.store: request models, page tokens, and the storage contract chat relies on."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.agents import store as agents
from shared.agents.store import AgentCreate, AgentRecord, AgentUpdate
from shared.core import errors
from shared.llm.settings import DEFAULT_MODEL


def test_create_defaults_make_an_active_agent_without_persona() -> None:
    body = AgentCreate(name="  Helper  ")

    assert body.name == "Helper"
    assert (body.model, body.persona, body.status) == (DEFAULT_MODEL, None, "active")
    assert body.color == agents.DEFAULT_COLOR


@pytest.mark.parametrize(
    ("given", "stored"),
    [("lua", "Lua"), ("ELRO", "Elro"), ("Riri", "Riri"), ("nAnA", "Nana"), ("AUTO", "auto")],
)
def test_personas_are_canonicalised(given: str, stored: str) -> None:
    assert AgentCreate(name="x", persona=given).persona == stored


def test_unknown_persona_names_the_allowed_values() -> None:
    with pytest.raises(ValidationError, match="Lua, Elro, Riri, Nana, auto"):
        AgentCreate(name="x", persona="Bob")


def test_tags_are_deduplicated_in_order_and_colors_uppercased() -> None:
    body = AgentCreate(name="x", tags=["b", "a", "b"], color="#abcdef")

    assert body.tags == ["b", "a"]
    assert body.color == "#ABCDEF"


def test_update_keeps_absent_fields_apart_from_explicit_persona_null() -> None:
    update = AgentUpdate.model_validate({"persona": None, "systemPrompt": "New"})

    assert update.model_dump(by_alias=True, exclude_unset=True) == {
        "persona": None,
        "systemPrompt": "New",
    }


@pytest.mark.parametrize("name", ["name", "tags", "model", "status", "systemPrompt"])
def test_update_refuses_null_for_fields_that_cannot_be_empty(name: str) -> None:
    with pytest.raises(ValidationError, match="may be omitted but not null"):
        AgentUpdate.model_validate({name: None})


def record(**overrides: Any) -> AgentRecord:
    fields: dict[str, Any] = {
        "id": "agt_" + "a" * 24,
        "user_id": "usr_1",
        "name": "x",
        "system_prompt": "",
        "model": "offline",
        "persona": None,
        "status": "active",
        "created_at": datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=UTC),
    }
    return AgentRecord(**(fields | overrides))


def test_record_round_trips_through_its_document() -> None:
    original = record(persona="auto", tags=["t"])

    document = original.to_document()

    assert document["userId"] == "usr_1" and document["systemPrompt"] == ""
    assert AgentRecord.from_document(original.id, document) == original


def test_page_token_round_trips_createdat_and_id() -> None:
    original = record()

    token = agents.encode_page_token(original)

    assert agents.decode_page_token(token) == (original.created_at, original.id)
    assert "=" not in token


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"t": "yesterday", "id": "agt_x"}').decode(),
        base64.urlsafe_b64encode(b'{"t": "2026-11-22T00:00:00", "id": "agt_x"}').decode(),
        base64.urlsafe_b64encode(
            b'{"t": "2026-11-22T00:00:00+00:00", "id": "../sessions/x"}'
        ).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe not utf-8").decode(),
    ],
    ids=["not-base64", "not-an-object", "bad-time", "naive-time", "bad-id", "not-utf-8"],
)
def test_foreign_page_tokens_are_invalid_requests(token: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="pageToken") as raised:
        agents.decode_page_token(token)

    # The contract names what is wrong, never the implementation's exception.
    assert raised.value.details == [{"field": "pageToken", "issue": "not a token this API issued"}]


def test_get_owned_agent_is_not_found_for_missing_and_foreign_agents(firestore_db: Any) -> None:
    mine = agents.create_agent("usr_owner", AgentCreate(name="x"))

    with pytest.raises(errors.NotFound):
        agents.get_owned_agent("usr_other", mine.id)
    with pytest.raises(errors.NotFound):
        agents.get_owned_agent("usr_owner", "agt_" + "0" * 24)
    assert agents.get_owned_agent("usr_owner", mine.id) == mine


@pytest.mark.parametrize("field", ["name", "tags"])
def test_length_limits_apply_to_the_text_as_sent_before_trimming(field: str) -> None:
    """Whitespace Python trims (\\x1e too) still counts towards maxLength, as the schema says."""
    limit = 100 if field == "name" else 40
    value = "\x1e" + "a" * limit
    body = {"name": value} if field == "name" else {"name": "ok", "tags": [value]}

    with pytest.raises(ValidationError):
        AgentCreate.model_validate_json(json.dumps(body), strict=True)
