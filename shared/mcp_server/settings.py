"""`MCP_*` settings: which browser origins may call the MCP endpoint."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.core import state


class McpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MCP_", extra="ignore", frozen=True)

    # MCP's Streamable HTTP transport must validate `Origin` (DNS rebinding): a web page a
    # user visits could otherwise drive a local server with the user's own network reach.
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8080", "http://localhost:8080"],
        description=(
            "Comma-separated origins whose requests `/mcp` serves; a request with any other "
            "`Origin` gets 403, one without `Origin` (desktop and CLI clients) is served. "
            "`make run` sets it to its gateway's own origin."
        ),
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value


@state.once
def get_mcp_settings() -> McpSettings:
    return McpSettings()
