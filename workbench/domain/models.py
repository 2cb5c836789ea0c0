"""Shared pydantic base for library files: unknown keys are errors, so typos never pass silently."""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
