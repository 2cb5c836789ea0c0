"""Settings, declared once with defaults and help (env prefix WORKBENCH_). Built by a function."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
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
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
                    "X-Forwarded-For and X-Forwarded-Proto are believed; empty: none.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        # A typo here would silently trust nobody (or the wrong host): refuse it at start.
        from workbench.domain.access import parse_trusted_proxies

        parse_trusted_proxies(value)
        return value

    queue_url: str = Field(
        default="",
        description="Task queue of the workers: redis://host:6379/0, or sqlite:///FILE; empty "
        "means a SQLite file queue.db next to the default database (one machine).",
    )
    job_stale_after_s: float = Field(
        default=30.0, gt=0,
        description="A running job whose worker has not reported for this long is resumed "
        "by another worker (workers report every sixth of it).",
    )

    def resolved_queue_url(self) -> str:
        if self.queue_url:
            return self.queue_url
        return f"sqlite:///{(self.data_dir / 'queue.db').resolve()}"
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
