"""What the export page shows besides the export itself: filter choices, earlier exports, where
a new export goes, and an export folder as a zip to download."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from workbench.domain.export_formats import ExportFormat
from workbench.services.export._write import zip_dir
from workbench.services.training import list_days
from workbench.storage import repo_curation, repo_export
from workbench.storage.db import session_scope


@dataclass(frozen=True)
class ExportChoices:
    training_days: list[tuple[int, str]]  # (id, label)
    rubric_versions: list[tuple[int, str]]


@dataclass(frozen=True)
class ExportView:
    id: int
    format: str
    out_dir: str
    created_by: str | None
    created_at: datetime
    records: int
    exists: bool


def export_choices(*, engine: sa.Engine) -> ExportChoices:
    # "#id" keeps same-named days apart (a selectbox maps the shown label back to the option).
    days = [(d.id, f"{d.day.isoformat()} · {d.name} · #{d.id}") for d in list_days(engine=engine)]
    with session_scope(engine) as s:
        rvs = [(rv.id or 0, f"{rv.rubric_id} v{rv.version} ({rv.audience})")
               for rv in repo_curation.rubric_versions(session=s)]
    return ExportChoices(days, rvs)


def recent_exports(*, engine: sa.Engine, limit: int = 10) -> list[ExportView]:
    """The newest exports first; `exists` says whether the folder is still on disk."""
    with session_scope(engine) as s:
        rows = repo_export.recent_export_records(session=s, limit=limit)
        return [ExportView(r.id or 0, r.format, r.out_dir, r.created_by, r.created_at,
                           int((r.manifest.get("counts") or {}).get("records", 0)),
                           Path(r.out_dir).is_dir()) for r in rows]


def new_export_dir(runs_dir: Path, fmt: ExportFormat | str, now: datetime | None = None) -> Path:
    """`runs/exports/<format>-<UTC time>[-n]`: a folder no export has used yet."""
    at = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    base = Path(runs_dir) / "exports" / f"{ExportFormat(fmt)}-{at}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def export_zip(out_dir: Path) -> bytes:
    return zip_dir(out_dir)
