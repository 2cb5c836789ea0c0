"""The few-shot snippet as a block to put into a system prompt (the prompt lab): the same
selection, scrubbing, residual gate and snippet as the `fewshot` export, without the files."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from workbench.domain.export_formats import ExportFormat
from workbench.domain.privacy import Scrubber
from workbench.services.export._export import (
    ExportOptions,
    ResidualPIIError,
    _build,
    _Clock,
    _Selection,
)
from workbench.services.export._scrub import Gate, ScrubSession
from workbench.services.export._select import ExportFilters, select_examples


@dataclass(frozen=True)
class FewShotBlock:
    text: str  # '' when no example matched
    example_ids: tuple[int, ...]  # the curated examples in the block
    tokens: int
    candidates: int  # curated examples that matched the filters (before the budget)


def fewshot_block(*, engine: sa.Engine, filters: ExportFilters, per_tag: int = 2,
                  token_budget: int = 1500, scrubber: Scrubber | None = None) -> FewShotBlock:
    """The few-shot snippet of the examples that pass `filters`, scrubbed exactly as the
    export scrubs it. Raises ResidualPIIError when the gate still finds personal data (a
    system prompt is sent to a model with every message: nothing identifying goes there)."""
    options = ExportOptions(format=ExportFormat.fewshot, filters=filters,
                            fewshot_per_tag=per_tag, fewshot_token_budget=token_budget)
    examples = select_examples(engine=engine, filters=filters)
    ss, gate = ScrubSession(scrubber), Gate()
    built = _build(options, _Selection(examples), ss, gate, _Clock({}))
    if gate.residuals:
        raise ResidualPIIError(gate.residuals)
    ids = built.example_ids
    text = built.files["fewshot.md"].decode("utf-8") if ids else ""
    return FewShotBlock(text, ids, int(built.extra["fewshot"]["tokens"]) if ids else 0,
                        len(examples))
