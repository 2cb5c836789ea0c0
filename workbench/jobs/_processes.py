"""The embedded worker of `workbench start`: a child process that dies with the app.

On Linux the worker asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG), so
even a SIGKILLed `workbench start` leaves no worker behind; a normal stop terminates it (and
the app) and waits for it to put its running jobs back in the queue.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT_S = 20.0


def _die_with(parent: int) -> Callable[[], None]:
    def preexec() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the kernel was told
            os._exit(1)
    return preexec


def spawn_child(cmd: list[str], *, env: dict[str, str], cwd: Path | None = None
                ) -> subprocess.Popen[bytes]:
    """A child process that gets SIGTERM when this process dies, however it dies."""
    return subprocess.Popen(cmd, env=env, cwd=cwd, preexec_fn=_die_with(os.getpid()))


def worker_command(threads: int = 1) -> list[str]:
    return [sys.executable, "-m", "workbench", "worker", "--workers", str(threads)]


def stop_child(proc: subprocess.Popen[bytes], *, timeout: float = STOP_TIMEOUT_S) -> int:
    """SIGTERM, then SIGKILL after `timeout`; the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def run_app_with_worker(app_cmd: list[str], *, env: dict[str, str], cwd: Path | None = None
                        ) -> int:
    """Run the app with one embedded worker beside it; stop both when either side ends: the
    app exits, Ctrl-C, or SIGTERM to this process. Returns the app's exit code."""
    def on_term(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, on_term)
    worker = spawn_child(worker_command(), env=env, cwd=cwd)
    app: subprocess.Popen[bytes] | None = None
    try:
        app = spawn_child(app_cmd, env=env, cwd=cwd)
        return app.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if app is not None:
            stop_child(app)
        stop_child(worker)
        signal.signal(signal.SIGTERM, previous)
