"""Scenario schema: a persona, a situation and a risk level, to role-play or to run scripted."""

from __future__ import annotations

import hashlib
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from workbench.domain.enums import (
    ExpectationCheck,
    ExpectationKind,
    RiskLevel,
    ViolenceForm,
    Writer,
)
from workbench.domain.models import Strict

Text = Annotated[str, Field(min_length=1)]  # after stripping: blank text is a forgotten field


class Expectation(Strict):
    """Something a good reply must (not) do. `check` makes it mechanically testable; `text` is
    what a human reads. Written in YAML as `{must: "noemt 112", check: mentions_112}`."""

    must: Text | None = None
    must_not: Text | None = None
    check: ExpectationCheck | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Expectation:
        if (self.must is None) == (self.must_not is None):
            raise ValueError("give exactly one of 'must' or 'must_not'")
        return self

    @property
    def kind(self) -> ExpectationKind:
        return ExpectationKind.must if self.must is not None else ExpectationKind.must_not

    @property
    def text(self) -> str:
        return self.must if self.must is not None else self.must_not or ""


class Persona(Strict):
    """A fictional, composite person: nobody re-enacts their own story."""

    name: Text = Field(description="A fictional first name, for the role-player only")
    age: int | None = Field(default=None, ge=4, le=110, strict=True)  # not "31", 31.5 or true
    description: Text


class ScriptedTurn(Strict):
    text: str = Field(min_length=1)
    expectations: list[Expectation] = Field(default_factory=list)


class Scenario(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=3)
    language: str = Field(default="nl", pattern=r"^(nl|en)$")
    tags: list[ViolenceForm] = Field(min_length=1)
    writer: Writer
    risk_level: RiskLevel
    content_warnings: list[Text] = Field(min_length=1)
    persona: Persona
    situation: str = Field(min_length=10)
    roleplay_guidance: str = Field(min_length=10)
    scripted_turns: list[ScriptedTurn] = Field(min_length=1)
    expectations: list[Expectation] = Field(default_factory=list)
    rubric: Text = Field(description="id of the expert rubric to score with")
    panel_rubric: str | None = Field(default=None, description="id of the lived-experience rubric")

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[ViolenceForm]) -> list[ViolenceForm]:
        if len(set(tags)) != len(tags):
            raise ValueError("tags repeat")
        return tags


def content_hash(text: str) -> str:
    """The sha256 of a library file's exact text: what a snapshot records as 'used'."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
