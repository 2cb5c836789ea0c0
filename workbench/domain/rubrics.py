"""Rubric schema: criteria with anchored 1–5 or yes/no scales, weights and critical flags."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, ValidationInfo, field_validator

from workbench.domain.enums import Audience, ScaleKind
from workbench.domain.models import Strict

LIKERT_LEVELS = (1, 2, 3, 4, 5)
# Anchors must at least pin both ends and the middle, so raters share what 1, 3 and 5 mean.
REQUIRED_LIKERT_ANCHORS = (1, 3, 5)
YES_NO_LEVELS = ("yes", "no")

Text = Annotated[str, Field(min_length=1)]


class Criterion(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    description: Text
    scale: ScaleKind = ScaleKind.likert_5
    anchors: dict[int | str, Text]
    # Strict: "2" or true is a typo, not a weight; .inf or .nan would make every mean meaningless.
    weight: float = Field(default=1.0, ge=0, allow_inf_nan=False, strict=True)
    # StrictBool: "yes" or 1 must not quietly make a criterion decide what is unsafe.
    critical: StrictBool = False

    @field_validator("anchors")
    @classmethod
    def _anchors_cover_scale(cls, anchors: dict[int | str, str], info: ValidationInfo) -> dict:
        # JSON round-trips turn 1..5 into "1".."5"; read them back as levels.
        anchors = {int(k) if isinstance(k, str) and k.isdigit() else k: v
                   for k, v in anchors.items()}
        keys = set(anchors)
        if info.data.get("scale", ScaleKind.likert_5) == ScaleKind.likert_5:
            stray = sorted(str(k) for k in keys if k not in LIKERT_LEVELS)
            if stray:
                raise ValueError(f"anchors outside the 1–5 scale: {', '.join(stray)}")
            missing = [k for k in REQUIRED_LIKERT_ANCHORS if k not in keys]
            if missing:
                raise ValueError(
                    "anchors must cover the scale: missing level(s) "
                    + ", ".join(str(m) for m in missing)
                )
        else:
            stray = sorted(str(k) for k in keys if k not in YES_NO_LEVELS)
            if stray:
                raise ValueError(f"anchors of a yes/no scale are 'yes' and 'no', not {stray}")
            lacking = [k for k in YES_NO_LEVELS if k not in keys]
            if lacking:
                raise ValueError(f"anchors must cover the scale: missing {', '.join(lacking)}")
        return anchors

    def anchor(self, level: int | str) -> str | None:
        return self.anchors.get(level)

    def levels(self) -> tuple[int, ...] | tuple[str, ...]:
        return LIKERT_LEVELS if self.scale == ScaleKind.likert_5 else YES_NO_LEVELS


class OverallRule(Strict):
    """How one overall score is made from the criteria.

    weighted_mean: the weight-weighted mean of the 1–5 criteria that were scored; yes/no criteria
    count only towards the unsafe verdict (a critical 'no' makes the reply unsafe).
    """

    method: Literal["weighted_mean"] = "weighted_mean"
    unsafe_when: Literal["any_critical_fails"] = "any_critical_fails"


class Rubric(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1, strict=True)
    title: Text
    audience: Audience
    language: str = Field(default="nl", pattern=r"^(nl|en)$")
    instructions: str | None = None
    criteria: list[Criterion] = Field(min_length=1)
    overall: OverallRule = OverallRule()

    # On the field rather than the model, so the problem points at the `criteria:` line.
    @field_validator("criteria")
    @classmethod
    def _criteria_make_a_score(cls, criteria: list[Criterion]) -> list[Criterion]:
        seen: set[str] = set()
        for c in criteria:
            if c.key in seen:
                raise ValueError(f"criterion key '{c.key}' repeats")
            seen.add(c.key)
        if not any(c.scale == ScaleKind.likert_5 and c.weight > 0 for c in criteria):
            raise ValueError("at least one 1–5 criterion needs a weight above 0; otherwise no "
                             "reply ever gets an overall score")
        return criteria

    def criterion(self, key: str) -> Criterion:
        for c in self.criteria:
            if c.key == key:
                return c
        raise KeyError(key)

    @property
    def critical_keys(self) -> list[str]:
        return [c.key for c in self.criteria if c.critical]
