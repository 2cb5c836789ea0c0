"""Settings, declared once with defaults and help (env prefix WORKBENCH_). Built by a function."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The project root when run from a checkout; installed elsewhere, paths fall back to the cwd.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_root() -> Path:
    return PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKBENCH_", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the database; empty means a SQLite file in data_dir.",
    )
    data_dir: Path = Field(
        default_factory=lambda: _default_root() / "data",
        description="Folder for the default SQLite database (git-ignored).",
    )
    runs_dir: Path = Field(
        default_factory=lambda: _default_root() / "runs",
        description="Folder for batch-run outputs and exports.",
    )
    scenarios_dir: Path = Field(
        default_factory=lambda: _default_root() / "scenarios",
        description="Folder of scenario YAML files.",
    )
    rubrics_dir: Path = Field(
        default_factory=lambda: _default_root() / "rubrics",
        description="Folder of rubric YAML files.",
    )
    language: Literal["nl", "en"] = Field(default="nl", description="Default UI language.")
    readiness_file: Path | None = Field(
        default=None,
        description="Readiness gate YAML; empty means the gate shipped in the package.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10_000, description="How long SQLite waits for a lock before giving up."
    )
    run_lease_s: float = Field(
        default=30.0, gt=0,
        description="How long a runner's hold on a run lasts unless renewed (every third of "
        "it); a runner that died blocks its run for at most this long.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'workbench.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()
