"""Which function does the work of which job kind.

A kind is registered explicitly, never by importing a module: the built-in kinds are named
below by dotted path and imported on first use, and anyone adding long work (the prompt lab,
`workbench simulate`) adds one line to `BUILTIN` or calls `register(kind, fn)` in the process
that runs the worker. A job function is `fn(engine, params, progress) -> dict | None`: it does
the work, reports through `progress`, and returns a JSON-able result.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from workbench.domain.enums import JobKind
from workbench.jobs._progress import Progress

JobFn = Callable[[sa.Engine, dict[str, Any], Progress], "dict[str, Any] | None"]

BUILTIN: dict[str, str] = {
    JobKind.run: "workbench.jobs._kinds:run_job",
    JobKind.judge: "workbench.jobs._kinds:judge_job",
    JobKind.metrics: "workbench.jobs._kinds:metrics_job",
    JobKind.export: "workbench.jobs._kinds:export_job",
    JobKind.report: "workbench.jobs._kinds:report_job",
    JobKind.noop: "workbench.jobs._kinds:noop_job",
    JobKind.lab_comparison: "workbench.jobs._kinds:lab_comparison_job",
}
BUILTIN[JobKind.simulate] = "workbench.jobs._kinds:simulate_job"  # workbench simulate

_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_registered: dict[str, JobFn] = {}
_lock = threading.Lock()


class UnknownKind(LookupError):
    pass


def register(kind: str, fn: JobFn, *, replace: bool = False) -> None:
    """Make `kind` known to this process (the worker's, and the one that enqueues)."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"job kind {kind!r}: lowercase letters, digits, - and _, at most 32")
    with _lock:
        if kind in _registered and _registered[kind] is not fn and not replace:
            raise ValueError(f"job kind {kind!r} is registered already")
        _registered[kind] = fn


def unregister(kind: str) -> None:
    with _lock:
        _registered.pop(kind, None)


def known_kinds() -> list[str]:
    return sorted({*(str(k) for k in BUILTIN), *_registered})


def is_known(kind: str) -> bool:
    return kind in _registered or kind in BUILTIN


def lookup(kind: str) -> JobFn:
    with _lock:
        fn = _registered.get(kind)
    if fn is not None:
        return fn
    path = BUILTIN.get(kind)
    if path is None:
        raise UnknownKind(f"no job kind {kind!r} (known: {', '.join(known_kinds())})")
    module, _, attr = path.partition(":")
    found: JobFn = getattr(importlib.import_module(module), attr)
    return found
