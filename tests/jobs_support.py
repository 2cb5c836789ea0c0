"""Helpers for the task-queue tests: a worker beside the test (in a thread, or a real
`workbench worker` process), waiting for rows, and reading what a download button hands out."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from workbench.jobs import Worker, queue_for

ROOT = Path(__file__).resolve().parent.parent


def wait_until(check: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.1,
               what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@contextmanager
def thread_worker(engine: sa.Engine, url: str, *, threads: int = 1,
                  stale_after_s: float = 30.0) -> Iterator[Worker]:
    """A worker in this process (pages under AppTest share the queue object with it)."""
    worker = Worker(engine=engine, queue=queue_for(url), threads=threads,
                    stale_after_s=stale_after_s)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=20)


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a child `workbench` process: the test's settings as they are now."""
    env = dict(os.environ)
    env.update(RAGAS_DO_NOT_TRACK="true", PYTHONUNBUFFERED="1", **extra)
    return env


def start_worker_process(log: Path, *, threads: int = 1, **env: str) -> subprocess.Popen[bytes]:
    """A real `workbench worker` process, logging to `log`."""
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "workbench", "worker", "--workers",
                             str(threads)], env=worker_env(**env), cwd=ROOT, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM,
                 timeout: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


class Downloads:
    """Every file a download button was given during AppTest runs, by the id in its proto:
    bytes passed at once, or the callable a deferred button runs when clicked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from streamlit.runtime.media_file_manager import MediaFileManager

        self.files: dict[str, Any] = {}
        add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

        def recording_add(mgr, data, mimetype, coordinates, *args, **kw):  # type: ignore
            url = add(mgr, data, mimetype, coordinates, *args, **kw)
            self.files[url] = data
            return url

        def recording_deferred(mgr, data_callable, *args, **kw):  # type: ignore
            file_id = add_deferred(mgr, data_callable, *args, **kw)
            self.files[file_id] = data_callable
            return file_id

        monkeypatch.setattr(MediaFileManager, "add", recording_add)
        monkeypatch.setattr(MediaFileManager, "add_deferred", recording_deferred)

    def of(self, at: AppTest, label: str) -> bytes:
        """What clicking the (first) download button with this label hands out."""
        buttons = [b for b in at.get("download_button") if b.proto.label == label]
        assert buttons, f"no download button {label!r}"
        proto = buttons[0].proto
        data = self.files[proto.deferred_file_id or proto.url]
        return data() if callable(data) else data


def zip_manifest(data: bytes) -> dict[str, Any]:
    import json

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        name = next(n for n in zf.namelist() if n.endswith("manifest.json"))
        return dict(json.loads(zf.read(name)))
