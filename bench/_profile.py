"""Sampling the app process with py-spy and saying what it spent its time on.

py-spy (a separate binary; not a dependency of the workbench) records collapsed stacks of the
threads that are not idle. Each sample is put in one group by its innermost frame that says
where the time goes: database queries, rendering and serialisation (Streamlit elements,
protobuf, plotly, arrow), the server and websocket, the script runner (reruns, widget state),
the bot, the workbench's own page and service code, or other.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from pathlib import Path

# Innermost match wins; checked in this order within one frame.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database queries", ("sqlalchemy/", "sqlite3/", "psycopg/", "sqlmodel/",
                          "workbench/storage/", "alembic/")),
    ("rendering and serialisation", ("streamlit/elements/", "streamlit/delta_generator",
                                     "google/protobuf/", "streamlit/proto/", "plotly/",
                                     "pyarrow/", "streamlit/dataframe_util",
                                     "streamlit/runtime/forward_msg", "narwhals/",
                                     "streamlit/string_util", "streamlit/type_util")),
    ("server and websocket", ("starlette/", "uvicorn/", "anyio/", "websockets/",
                              "streamlit/web/", "asyncio/", "h11/", "httptools/",
                              "streamlit/runtime/app_session", "streamlit/runtime/runtime.py",
                              "streamlit/runtime/session_manager",
                              "streamlit/runtime/websocket_session_manager")),
    ("script runner (reruns, widget state)", ("streamlit/runtime/scriptrunner",
                                              "streamlit/runtime/state/", "streamlit/navigation",
                                              "streamlit/commands/", "streamlit/runtime/pages",
                                              "streamlit/runtime/caching/")),
    ("bot", ("workbench/bots/",)),
    ("page and service code", ("workbench/",)),
)


def find_py_spy(explicit: str | None) -> str | None:
    if explicit:
        return explicit if Path(explicit).exists() else None
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Sampler:
    """Samples `pid` from `start()` to `stop()`."""

    def __init__(self, py_spy: str, pid: int, out: Path, rate: int = 50) -> None:
        self.cmd = [py_spy, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking",
                    "--threads", "--format", "raw", "--output", str(out)]
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def read(self) -> list[tuple[list[str], int]]:
        """(frames from the thread down to the innermost, samples) per distinct stack."""
        stacks = []
        if not self.out.exists():
            return stacks
        for line in self.out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks.append((stack.split(";"), int(count)))
        return stacks


# Innermost frames of a thread that waits (py-spy counts a waiting thread as busy when the
# machine is loaded and it is runnable, or when the wait is in C under a Python frame).
IDLE_LEAVES = ("EpollSelector.select (", "Condition.wait (", "Event.wait (", "_worker (",
               "polling_path_watcher.py", "Thread._wait_for_tstate_lock (", "Queue.get (",
               "select (selectors.py", "_run_once (asyncio/base_events.py")


def is_idle(frames: list[str]) -> bool:
    return any(mark in frames[-1] for mark in IDLE_LEAVES)


def group_of(frames: list[str]) -> str:
    for frame in reversed(frames[1:]):  # frames[0] is the thread
        for name, marks in GROUPS:
            if any(m in frame for m in marks):
                return name
    return "other"


def _function(frame: str) -> str:
    """'f (path/x.py:12)' without the line: samples of one function add up."""
    head, _, where = frame.rpartition(" (")
    return f"{head} ({where.rsplit(':', 1)[0]})" if head else frame


def print_summary(stacks: list[tuple[list[str], int]], top: int = 12) -> None:
    idle = sum(n for frames, n in stacks if is_idle(frames))
    stacks = [(frames, n) for frames, n in stacks if not is_idle(frames)]
    total = sum(n for _, n in stacks)
    if not total:
        print("  no samples (py-spy could not read the process?)")
        return
    groups: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    for frames, n in stacks:
        groups[group_of(frames)] += n
        threads[frames[0].split(": ", 1)[-1].rstrip("0123456789-_ ")] += n
        leaves[_function(frames[-1])] += n
        for fn in {_function(f) for f in frames[1:] if "workbench/" in f}:
            ours[fn] += n
    print(f"  {total} busy samples ({idle} more were threads waiting: left out)")
    print("  where the time went (innermost telling frame):")
    for name, n in groups.most_common():
        print(f"    {100 * n / total:5.1f} %  {name}")
    print("  by thread:")
    for name, n in threads.most_common(5):
        print(f"    {100 * n / total:5.1f} %  {name}")
    print(f"  top {top} innermost functions (self time):")
    for name, n in leaves.most_common(top):
        print(f"    {100 * n / total:5.1f} %  {name}")
    print(f"  top {top} workbench functions (inclusive):")
    for name, n in ours.most_common(top):
        print(f"    {100 * n / total:5.1f} %  {name}")
