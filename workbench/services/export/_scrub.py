"""Scrubbing for exports: one ScrubContext per conversation, finding counts per type, the
residual-PII gate over every output text, and an optional fork pool for large exports.

Placeholder numbers depend on the order texts are first seen in a conversation, so callers
scrub in a fixed order (conversation, then turn order) to keep exports deterministic.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from workbench.domain.privacy import (
    Finding,
    Scrubber,
    ScrubContext,
    apply_placeholders,
    get_scrubber,
    residual_pii,
)

# Below this many distinct texts a pool costs more (fork, pickling) than it saves.
POOL_MIN_TEXTS = 20_000
_POOL_SCRUBBER: Scrubber | None = None  # set in the parent just before forking


@dataclass(frozen=True)
class Residual:
    """Where the gate found something: record, field and type (never the text itself, so the
    report and the audit log do not repeat the personal data)."""

    file: str
    record: str
    field: str
    type: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "record": self.record, "field": self.field, "type": self.type}

    def __str__(self) -> str:
        return f"{self.file} {self.record} {self.field}: {self.type}"


class ScrubSession:
    """Scrubs the texts of one export. `key` names the conversation a text belongs to."""

    def __init__(self, scrubber: Scrubber | None = None) -> None:
        self.scrubber = scrubber or get_scrubber()
        self.contexts: dict[Hashable, ScrubContext] = {}
        self.findings: Counter[str] = Counter()
        self._done: dict[tuple[Hashable, str], str] = {}
        self._found: dict[str, list[Finding]] = {}

    def text(self, key: Hashable, text: str) -> str:
        """`text` scrubbed in the context of conversation `key`; each distinct text of a
        conversation is scrubbed (and counted) once."""
        done = self._done.get((key, text))
        if done is not None:
            return done
        context = self.contexts.setdefault(key, ScrubContext())
        found = self._found.get(text)
        if found is None:
            result = self.scrubber.scrub(text, context=context)
            scrubbed, findings = result.text, result.findings
        else:  # found by the pool: apply exactly as scrub() would
            scrubbed = apply_placeholders(text, found, context) if found else text
            findings = found
        self.findings.update(f.type for f in findings)
        self._done[(key, text)] = scrubbed
        return scrubbed

    def optional(self, key: Hashable, text: str | None) -> str | None:
        return None if text is None else self.text(key, text)

    def prefetch(self, texts: Iterable[str], workers: int | None = None) -> int:
        """Find PII in many texts at once on `workers` processes (None: one per core when
        there are enough texts). Uses fork, so the loaded lookup tables are shared, not
        rebuilt; where fork is unavailable this does nothing. Returns the workers used."""
        distinct = sorted({t for t in texts if t.strip()} - set(self._found))
        n = workers if workers is not None else (
            min(os.cpu_count() or 1, 8) if len(distinct) >= POOL_MIN_TEXTS else 1)
        if n <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            return 1
        global _POOL_SCRUBBER
        load = getattr(self.scrubber, "load", None)
        if callable(load):
            load()  # build the tables once, before the fork
        _POOL_SCRUBBER = self.scrubber
        try:
            chunks = [distinct[i::n * 4] for i in range(n * 4)]
            with multiprocessing.get_context("fork").Pool(n) as pool:
                for chunk, found in zip(chunks, pool.map(_find_many, chunks), strict=True):
                    self._found.update(zip(chunk, found, strict=True))
        finally:
            _POOL_SCRUBBER = None
        return n


def _find_many(texts: Sequence[str]) -> list[list[Finding]]:
    assert _POOL_SCRUBBER is not None
    return [_POOL_SCRUBBER.find(t) for t in texts]


class Gate:
    """The second pass: `residual_pii` on every text that leaves, memoised per distinct text
    (a system prompt repeats in every record)."""

    def __init__(self) -> None:
        self.residuals: list[Residual] = []
        self._memo: dict[str, tuple[str, ...]] = {}

    def check(self, file: str, record: str, field: str, text: str | None) -> None:
        if not text:
            return
        types = self._memo.get(text)
        if types is None:
            types = tuple(sorted({f.type for f in residual_pii(text)}))
            self._memo[text] = types
        self.residuals.extend(Residual(file, record, field, t) for t in types)

    def by_type(self) -> dict[str, int]:
        return dict(sorted(Counter(r.type for r in self.residuals).items()))
