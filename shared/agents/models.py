"""Request and response shapes of the agents API, and the rules of their fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from shared.agents.stats import AgentStats
from shared.core.models import ApiModel, Prose, RequestModel, not_blank, one_line, printable

AUTO_PERSONA = "auto"  # route every message to the persona that fits it best
DEFAULT_COLOR = "#6366F1"


def _persona_names() -> list[str]:
    from shared.personas.data import load_personas  # only requests naming a persona pay

    return load_personas().names


def _canonical_persona(value: str | None) -> str | None:
    """A persona of the configured set (any case) or `auto`, in its canonical spelling."""
    if value is None:
        return None
    names = [*_persona_names(), AUTO_PERSONA]
    canonical = next((name for name in names if name.lower() == value.strip().lower()), None)
    if canonical is None:
        raise ValueError(f"unknown persona {value!r}; expected null or one of {', '.join(names)}")
    return canonical


def _describe_personas(schema: dict[str, Any]) -> None:
    names = ", ".join(_persona_names())
    schema["description"] = f"null, a persona name ({names}; any case) or `auto`."


def _default_model() -> str:
    from shared.llm.settings import get_model_settings

    return get_model_settings().chat_default_model


def _document_default_model(schema: dict[str, Any]) -> None:
    schema["default"] = _default_model()


def _allowed_model(name: str) -> str:
    from shared.llm.settings import get_model_settings

    settings = get_model_settings()
    if not settings.allows(name):
        allowed = ", ".join(
            dict.fromkeys(["offline", settings.chat_default_model, *settings.chat_allowed_models])
        )
        raise ValueError(f"model {name!r} is not allowed here; expected one of {allowed}")
    return name


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


# Limits apply to the text as sent: the length check comes before the trim.
Name = Annotated[
    str,
    Field(min_length=1, max_length=100),
    AfterValidator(printable),
    AfterValidator(not_blank),
    AfterValidator(one_line),
]
Description = Annotated[Prose, Field(max_length=2000)]
Tags = Annotated[
    list[
        Annotated[
            str,
            Field(min_length=1, max_length=40),
            AfterValidator(printable),
            AfterValidator(not_blank),
            AfterValidator(one_line),
        ]
    ],
    Field(max_length=20, description="At most 20 tags of 1-40 characters; duplicates dropped."),
    AfterValidator(_unique),
]
Color = Annotated[
    str, Field(pattern=r"^#[0-9A-Fa-f]{6}$", examples=["#6366F1"]), AfterValidator(str.upper)
]
Icon = Annotated[str, Field(max_length=64)]
SystemPrompt = Annotated[Prose, Field(max_length=20_000)]
ModelName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$",
        description=(
            "A model of the deployment's allowlist (CHAT_ALLOWED_MODELS), or `offline` for the "
            "built-in deterministic model; any other name is refused with 400."
        ),
    ),
    AfterValidator(_allowed_model),
]
Persona = Annotated[
    str | None,
    Field(json_schema_extra=_describe_personas),
    AfterValidator(_canonical_persona),
]
ToolNames = Annotated[
    list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]],
    Field(
        max_length=10,
        description="Tools from the registry the agent may call during a run (guest tools "
        "only; see `/v1/ops` and docs/tools.md).",
    ),
    AfterValidator(_unique),
]
Status = Literal["active", "paused"]


class AgentCreate(RequestModel):
    name: Name
    description: Description = ""
    tags: Tags = Field(default_factory=list)
    color: Color = DEFAULT_COLOR
    icon: Icon = "bot"
    system_prompt: SystemPrompt = ""
    model: ModelName = Field(
        default_factory=_default_model, json_schema_extra=_document_default_model
    )
    persona: Persona = None
    status: Status = "active"
    tools: ToolNames = Field(default_factory=list)


class AgentUpdate(RequestModel):
    """A partial update: only the fields present change; `persona: null` clears it."""

    name: Name | None = None
    description: Description | None = None
    tags: Tags | None = None
    color: Color | None = None
    icon: Icon | None = None
    system_prompt: SystemPrompt | None = None
    model: ModelName | None = None
    persona: Persona = None
    status: Status | None = None
    tools: ToolNames | None = None

    @field_validator(
        "name", "description", "tags", "color", "icon", "system_prompt", "model", "status", "tools"
    )
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Validators run only for fields present in the body: an explicit null lands here.
        if value is None:
            raise ValueError(f"{info.field_name} may be omitted but not null")
        return value


class AgentPublic(ApiModel):
    id: str
    name: str
    description: str
    tags: list[str]
    color: str
    icon: str
    system_prompt: str
    model: str
    persona: str | None
    status: Status
    tools: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    stats: AgentStats = Field(default_factory=AgentStats)


class AgentListQuery(RequestModel):
    limit: int = Field(20, ge=1, le=100)
    page_token: str | None = Field(None, max_length=512)


class AgentPage(ApiModel):
    agents: list[AgentPublic]
    next_page_token: str | None = Field(None, description="Pass as pageToken; null at the end.")


class DashboardStats(ApiModel):
    total_agents: int
    active_agents: int
    total_runs: int
    success_rate: float | None = Field(
        description="successfulRuns / totalRuns over your agents (0-1); null before any run."
    )
