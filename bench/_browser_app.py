"""What the real-browser benchmarks share: the app as its own process on a fresh data folder,
its CPU time, Debian chromium's launch options, and a watch on Streamlit's websocket that says
when a script run has finished (so a timing ends when the server is done, not after a guess).

Not a benchmark itself; `page_latency.py` and `first_dashboard_view.py` import it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
STREAMLIT_ARGS = ["--server.address", "127.0.0.1", "--server.headless", "true",
                  "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
WAIT_MS = 60_000
_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def data_env(folder: Path) -> dict[str, str]:
    """The environment of a workbench on its own SQLite database and runs folder in `folder`."""
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_DATABASE_URL"}
    env.update(WORKBENCH_DATA_DIR=str(folder / "data"), WORKBENCH_RUNS_DIR=str(folder / "runs"),
               RAGAS_DO_NOT_TRACK="true")
    return env


def start(cmd: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a server command from the repository root (so .streamlit/config.toml applies)."""
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def app_command(port: int) -> list[str]:
    """The app as `workbench start` runs it (pages plus the session-cookie route), no worker."""
    return [sys.executable, "-m", "workbench.ui.asgi", *STREAMLIT_ARGS,
            "--server.port", str(port)]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path,
                 timeout_s: float = 180) -> float:
    """Seconds until Streamlit's health route answers `ok`."""
    t0 = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return time.monotonic() - t0
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() - t0 > timeout_s:
            raise RuntimeError(f"the app did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)  # `workbench start` stops its worker first
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds of one process so far (Linux /proc; no psutil needed); with
    `reaped`, also those of its children that have ended and been waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICK


def tree_cpu(root: int, exclude: int) -> float:
    """CPU seconds of `root` and all its descendants except the subtree of `exclude` (here:
    the bench itself, playwright's driver and chromium, but not the app). Chromium's renderer
    processes end with their browser context; their time then counts in their parent's."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry.name)] = int(fields[1])
    total = 0.0
    for pid in parent:
        p = pid
        while p not in (0, 1, root, exclude) and p in parent:
            p = parent[p]
        if p == root and pid != exclude:
            try:
                total += cpu_seconds(pid, reaped=True)
            except OSError:
                pass  # ended meanwhile
    return total


def wait_idle(pid: int, *, below: float = 0.05, window_s: float = 2.0,
              timeout_s: float = 240) -> float:
    """Wait until the process uses less than `below` of a core over `window_s` (e.g. the
    scrubber has finished loading in the background); seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        before = cpu_seconds(pid)
        time.sleep(window_s)
        if (cpu_seconds(pid) - before) / window_s < below:
            break
    return time.monotonic() - t0


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (no interpolation: with few values it is a real one)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class ScriptRuns:
    """Counts the script runs the server reports finished to one page, from the websocket.

    Streamlit ends every run with a small ForwardMsg `script_finished`; a run ended by
    `st.rerun()` reports FINISHED_EARLY_FOR_RERUN and the run after it FINISHED_SUCCESSFULLY.
    """

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg = ForwardMsg
        self._done = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
        self.finished = 0  # runs that ran to the end
        self.runs = 0  # every finished run, including those cut short for a rerun
        self._changed = asyncio.Event()
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str) or len(payload) > 256:  # script_finished is a few bytes
            return
        msg = self._msg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001  (some other small frame)
            return
        if msg.WhichOneof("type") != "script_finished":
            return
        self.runs += 1
        if msg.script_finished == self._done:
            self.finished += 1
        self._changed.set()

    async def wait_finished(self, more_than: int, timeout_s: float = WAIT_MS / 1000) -> None:
        """Until more than `more_than` runs have finished successfully."""
        deadline = time.monotonic() + timeout_s
        while self.finished <= more_than:
            self._changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no finished script run")
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 1.0))
            except TimeoutError:
                pass


# JavaScript the browser evaluates until true: no element of the main area is stale (shown
# from the previous run while a new one is under way).
FRESH_JS = ("!document.querySelector('[data-testid=stMainBlockContainer] "
            "[data-testid=stElementContainer][data-stale=true]')")


async def sign_in_staff(page, url: str, code: str, password: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(url)
    await page.get_by_role("tab", name="Medewerker").click()
    await page.get_by_label("Gebruikersnaam").fill(code)
    await page.get_by_label("Wachtwoord").fill(password)
    await page.get_by_role("button", name="Aanmelden").click()
    await page.get_by_text(f"Welkom, {code}").wait_for(timeout=WAIT_MS)


async def nav(page, title: str) -> None:  # type: ignore[no-untyped-def]
    await page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
