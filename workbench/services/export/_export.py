"""Export use-case: select curated data, scrub it, build one format, gate it for residual PII,
write it atomically with a manifest, and record who did it.

Determinism: the data files never hold the export time; `manifest.json` holds it as
`exported_at`, taken from `ExportOptions.exported_at` when given (so a test or a rebuild can
reproduce a manifest byte for byte) and from the clock otherwise. Everything else in the
manifest comes from the data and the options.

Parts: `export_examples` and `export_select` (queries), `export_scrub` (contexts, gate, pool),
`export_build` (formats), `export_write` (atomic folder, zip), `export_views` (for the page).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workbench import __version__
from workbench.domain import export_formats as ef
from workbench.domain.export_formats import ExportFormat
from workbench.domain.privacy import SCRUBBER_VERSION, Scrubber
from workbench.services.errors import UserError
from workbench.services.export._build import (
    BuildSettings,
    Built,
    build_dpo,
    build_eval,
    build_fewshot,
    build_sft,
    build_table,
    scrub_examples,
    scrub_pairs,
    texts_of,
)
from workbench.services.export._examples import ExportExample
from workbench.services.export._scrub import Gate, Residual, ScrubSession
from workbench.services.export._select import (
    ExportFilters,
    PairwiseSelection,
    RatingSelection,
    select_examples,
    select_pairwise,
    select_ratings,
    version_facts,
)
from workbench.services.export._write import MANIFEST, manifest_bytes, sha256, write_atomically
from workbench.storage import repo
from workbench.storage.db import session_scope
from workbench.storage.tables import ExportRecord


@dataclass(frozen=True)
class ExportOptions:
    format: ExportFormat
    filters: ExportFilters = field(default_factory=ExportFilters)
    validation_fraction: float = 0.1
    seed: int = 13
    reject_below: float = ef.DEFAULT_REJECT_BELOW  # DPO: bot replies scored below this
    include_pairwise: bool = True  # DPO: also pairs from A/B judgements
    fewshot_per_tag: int = 2
    fewshot_token_budget: int = 1500
    allow_residual: bool = False
    exported_at: datetime | None = None  # None: now
    workers: int | None = None  # scrub processes; None: auto (a pool only for big exports)

    def as_dict(self) -> dict[str, Any]:
        return {"validation_fraction": self.validation_fraction, "seed": self.seed,
                "reject_below": self.reject_below, "include_pairwise": self.include_pairwise,
                "fewshot_per_tag": self.fewshot_per_tag,
                "fewshot_token_budget": self.fewshot_token_budget,
                "allow_residual": self.allow_residual}


class ResidualPIIError(UserError):
    """Personal data was still found after scrubbing; nothing was written."""

    def __init__(self, residuals: list[Residual]) -> None:
        super().__init__("export.residual_found", n=len(residuals))
        self.residuals = residuals

    def __str__(self) -> str:
        shown = "\n".join(f"  {r}" for r in self.residuals[:50])
        more = f"\n  … and {len(self.residuals) - 50} more" if len(self.residuals) > 50 else ""
        return (f"residual personal data after scrubbing in {len(self.residuals)} place(s); "
                f"nothing was written:\n{shown}{more}")


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    manifest: dict[str, Any]
    export_id: int
    residuals: list[Residual]
    timings: dict[str, float]  # seconds per phase; not in the manifest (it would vary)


# --- token counting -----------------------------------------------------------------------------

_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def token_counter() -> tuple[str, Callable[[str], int]]:
    """tiktoken's cl100k_base when its file is already cached on this machine (tiktoken would
    otherwise download it: we never go online for this), else words × 1.3. The name goes into
    the manifest, since the two count differently."""
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or \
        os.path.join(tempfile.gettempdir(), "data-gym-cache")
    cached = Path(cache) / hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    if cached.is_file():
        try:
            import tiktoken

            enc = tiktoken.get_encoding("cl100k_base")
            return "tiktoken cl100k_base", lambda text: len(enc.encode(text))
        except Exception:  # a broken cache or no tiktoken: fall back, never fail the export
            pass
    return f"words x {ef.WORDS_TO_TOKENS}", ef.estimate_tokens


# --- the use-case -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Selection:
    examples: list[ExportExample] = field(default_factory=list)
    pairwise: list[PairwiseSelection] = field(default_factory=list)
    ratings: list[RatingSelection] = field(default_factory=list)

    def head(self, n: int) -> _Selection:
        return _Selection(self.examples[:n], self.pairwise[:n], self.ratings[:n])


def _select(engine: sa.Engine, options: ExportOptions) -> _Selection:
    fmt, f = ExportFormat(options.format), options.filters
    if fmt == ExportFormat.table:
        return _Selection(ratings=select_ratings(engine=engine, filters=f))
    pairwise = select_pairwise(engine=engine, filters=f) \
        if fmt in ef.PREFERENCE_FORMATS and options.include_pairwise else []
    return _Selection(select_examples(engine=engine, filters=f), pairwise)


def _build(options: ExportOptions, sel: _Selection, ss: ScrubSession, gate: Gate,
           clock: _Clock) -> Built:
    """Scrub and build one format from a selection; `clock` gets the scrub and build times."""
    fmt = ExportFormat(options.format)
    name, count = token_counter()
    bs = BuildSettings(options.validation_fraction, options.seed, options.reject_below,
                       options.include_pairwise, options.fewshot_per_tag,
                       options.fewshot_token_budget, count, name)
    ss.prefetch(texts_of(sel.examples, sel.pairwise, sel.ratings), options.workers)
    if fmt == ExportFormat.table:
        clock.lap("scrub")
        built = build_table(sel.ratings, ss, gate)  # applies placeholders as it builds
        clock.lap("build")
        return built
    examples = scrub_examples(sel.examples, ss)
    pairs = scrub_pairs(sel.pairwise, ss)
    clock.lap("scrub")
    if fmt in (ExportFormat.openai_sft, ExportFormat.trl_sft):
        built = build_sft(fmt, examples, gate, bs)
    elif fmt in ef.PREFERENCE_FORMATS:
        built = build_dpo(fmt, examples, pairs, gate, bs)
        built.prompt_version_ids |= {p.prompt_version_id for p in sel.pairwise
                                     if p.prompt_version_id is not None}
    elif fmt == ExportFormat.eval_set:
        built = build_eval(examples, gate)
    else:
        built = build_fewshot(examples, gate, bs)
    clock.lap("build")
    return built


class _Clock:
    def __init__(self, into: dict[str, float]) -> None:
        self.into, self.last = into, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.into[name] = self.into.get(name, 0.0) + now - self.last
        self.last = now


def write_export(*, engine: sa.Engine, options: ExportOptions, out_dir: Path, actor: str | None,
           scrubber: Scrubber | None = None) -> ExportResult:
    """Write one export to `out_dir` (which must not exist yet, or be empty).

    Raises ResidualPIIError (and writes nothing, but audits the attempt) when the gate finds
    personal data after scrubbing, unless `options.allow_residual`, which is audited too.
    """
    ss, gate = ScrubSession(scrubber), Gate()
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    selection = _select(engine, options)
    clock.lap("select")
    built = _build(options, selection, ss, gate, clock)
    fmt = str(ExportFormat(options.format))
    if gate.residuals and not options.allow_residual:
        with session_scope(engine) as s:
            repo.audit(session=s, action="export.blocked", actor=actor, entity="export",
                       details={"format": fmt, "residual": _residual_summary(gate)})
        raise ResidualPIIError(gate.residuals)
    rubrics, prompts = version_facts(engine=engine, rubric_version_ids=built.rubric_version_ids,
                                     prompt_version_ids=built.prompt_version_ids)
    at = options.exported_at or datetime.now(UTC)
    manifest = {
        "format": fmt,
        "files": {n: {"sha256": sha256(b), "bytes": len(b)} for n, b in sorted(
            built.files.items())},
        "filters": options.filters.as_dict(),
        "options": options.as_dict(),
        "counts": built.counts,
        "split": built.split,
        "rubric_versions": rubrics,
        "prompt_versions": prompts,
        "scrubber": {"version": SCRUBBER_VERSION,
                     "findings": dict(sorted(ss.findings.items())),
                     "conversations": len(ss.contexts)},
        "residual": {"allowed": options.allow_residual, **_residual_summary(gate)},
        **built.extra,
        "workbench_version": __version__,
        "exported_by": actor,
        "exported_at": at.isoformat(),
    }
    files = {**built.files, MANIFEST: manifest_bytes(manifest)}
    written = write_atomically(out_dir, files)
    with session_scope(engine) as s:
        rec = ExportRecord(format=fmt, filters=options.filters.as_dict(),
                           out_dir=str(written), manifest=manifest, created_by=actor)
        s.add(rec)
        s.flush()
        repo.audit(session=s, action="export.create", actor=actor, entity="export_record",
                   entity_id=rec.id, details={"format": fmt, "out_dir": str(written),
                                              "records": built.counts.get("records", 0)})
        if gate.residuals:
            repo.audit(session=s, action="export.residual_allowed", actor=actor,
                       entity="export_record", entity_id=rec.id,
                       details=_residual_summary(gate))
        export_id = rec.id or 0
    clock.lap("write")
    return ExportResult(written, manifest, export_id, gate.residuals, timings)


def _residual_summary(gate: Gate) -> dict[str, Any]:
    return {"count": len(gate.residuals), "by_type": gate.by_type(),
            "where": [r.as_dict() for r in gate.residuals[:200]]}


@dataclass(frozen=True)
class ExportPreview:
    counts: dict[str, Any]
    files: dict[str, str]  # file → its first lines, scrubbed
    residual: int


def preview_export(*, engine: sa.Engine, options: ExportOptions, n: int = 3,
            scrubber: Scrubber | None = None) -> ExportPreview:
    """Counts of what an export would hold, and its first `n` records scrubbed (nothing is
    written). Counts come from the selection; only the shown records are scrubbed."""
    sel = _select(engine, options)
    if ExportFormat(options.format) == ExportFormat.table:
        counts: dict[str, Any] = {"ratings": len(sel.ratings)}
    else:
        counts = {"examples": len(sel.examples),
                  "with_ideal_reply": sum(1 for e in sel.examples if e.ideal_reply),
                  "by_state": _count(str(e.state) for e in sel.examples),
                  "by_scenario": _count(e.scenario_id or "(none)" for e in sel.examples)}
        if sel.pairwise:
            counts["pairwise_pairs"] = len(sel.pairwise)
    ss, gate = ScrubSession(scrubber), Gate()
    built = _build(options, sel.head(max(n * 4, 12)), ss, gate, _Clock({}))
    shown = {name: "\n".join(data.decode("utf-8").splitlines()[: n + 1])
             for name, data in sorted(built.files.items()) if not name.endswith(".parquet")}
    return ExportPreview(counts, shown, len(gate.residuals))


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))
