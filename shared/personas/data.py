"""The persona set as data: read from YAML, validated once, compiled for routing.

The default set ships as `shared/personas/personas.yaml`; `PERSONAS_FILE` points at another
file. A bad file fails at load with a message naming the problem, never mid-request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.core import state
from shared.personas.analysis import CueMatcher, Intent, Pace, Tone, compile_cues


class PersonaSettings(BaseSettings):
    """Settings of persona routing (environment variables)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    personas_file: Path | None = Field(
        None, description="YAML persona set; unset: the default set shipped in shared/data."
    )
    persona_chat_model: str | None = Field(
        None, description="Model for POST /v1/personas/chat; unset: CHAT_DEFAULT_MODEL."
    )
    persona_chat_max_tokens: int = Field(
        1024, ge=1, le=8192, description="Longest answer of `POST /v1/personas/chat`."
    )
    persona_route_min_confidence: float = Field(
        0.4,
        ge=0,
        le=1,
        description=(
            "Below this confidence the router says it is unsure and the fallback persona "
            "answers (with a key, one short model call decides instead)."
        ),
    )
    persona_route_model: str = Field(
        "claude-haiku-4-5",
        description="Model that decides a route the offline reading is unsure of (with a key).",
    )
    persona_route_model_timeout_seconds: float = Field(
        3.0,
        gt=0,
        le=10,
        description="Time that model call may take before the offline answer stands.",
    )
    persona_model_tone: bool = Field(
        False, description="Classify tone with the model in /chat (when a key is configured)."
    )
    persona_tone_model: str = Field(
        "claude-haiku-4-5", description="Model that classifies tone when PERSONA_MODEL_TONE is on."
    )
    persona_tone_timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=10,
        description="Time the tone classification may take before the rules decide alone.",
    )


@state.once
def get_persona_settings() -> PersonaSettings:
    return PersonaSettings()


class PersonaConfigError(ValueError):
    """The persona file is missing, is not YAML, or does not match the schema."""


class PersonaSpec(BaseModel):
    """One persona as written in the YAML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=1000)
    style_summary: str = Field(min_length=1, max_length=300)
    style: str = Field(min_length=1, max_length=4000)
    tones: list[Tone] = Field(min_length=1)
    paces: dict[Pace, float] = Field(default_factory=dict)
    intents: dict[Intent, float] = Field(default_factory=dict)
    keywords: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    prior: float = Field(0.0, ge=-1, le=1)
    fallback: bool = False

    @field_validator("paces", "intents")
    @classmethod
    def _weights_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for key, weight in value.items():
            if not 0 <= weight <= 1:
                raise ValueError(f"weight of {key!r} must be within 0..1, got {weight}")
        return value

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {pattern!r} is not a regular expression: {exc}"
                ) from None
        return value


class PersonaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personas: list[PersonaSpec] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _names_unique_and_one_fallback(self) -> PersonaFile:
        names = [p.name.lower() for p in self.personas]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"persona names must be unique; repeated: {', '.join(duplicates)}")
        if sum(p.fallback for p in self.personas) > 1:
            raise ValueError("at most one persona may be the fallback")
        return self


@dataclass(frozen=True)
class Persona:
    """A persona ready for routing: the spec plus its compiled cue matchers."""

    spec: PersonaSpec
    keywords: CueMatcher
    patterns: tuple[re.Pattern[str], ...]

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class PersonaSet:
    personas: tuple[Persona, ...]
    fallback: str  # the persona that wins when nothing else speaks

    def get(self, name: str) -> Persona | None:
        wanted = name.strip().lower()
        return next((p for p in self.personas if p.name.lower() == wanted), None)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.personas]


def parse(text: str, source: str) -> PersonaSet:
    """A persona set from YAML text; `PersonaConfigError` names what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PersonaConfigError(f"{source} is not valid YAML: {exc}") from None
    try:
        spec = PersonaFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise PersonaConfigError(f"{source} does not describe a persona set: {problems}") from None
    personas = tuple(
        Persona(
            spec=p,
            keywords=compile_cues(p.keywords),
            patterns=tuple(re.compile(x, re.IGNORECASE) for x in p.patterns),
        )
        for p in spec.personas
    )
    fallback = next((p.name for p in personas if p.spec.fallback), personas[0].name)
    return PersonaSet(personas, fallback)


@state.once
def load_personas() -> PersonaSet:
    """The configured persona set, read once per process."""
    path = get_persona_settings().personas_file
    if path is None:
        text = resources.files("shared.personas").joinpath("personas.yaml").read_text("utf-8")
        return parse(text, "the default persona set")
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise PersonaConfigError(f"PERSONAS_FILE {path} cannot be read: {exc}") from None
    return parse(text, f"PERSONAS_FILE {path}")
