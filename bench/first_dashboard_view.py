"""The first dashboard view after `workbench start` against a warm one (issue 14, item 12).

The demo database is made once (`workbench demo`, not timed). Then, `--starts` times: a fresh
`workbench start` process on it; as soon as it answers, a fresh chromium signs in as the demo
manager and opens Dashboard from the menu — timed from the click until the server has finished
the run (websocket `script_finished`) and the page shows the trend tab's figures (every
visible plotly chart drawn, the metrics there, nothing stale). Then `--warm` more views in the
same tab (Start, then Dashboard again), and one in a new browser context (a new tab's
session with an empty browser cache, on the now warm server), which tells how much of the
first view is the browser loading its chart code rather than the server.

    .venv/bin/python bench/first_dashboard_view.py [--starts 3] [--warm 5] [--settle 0]

`--settle S` waits S seconds after the start before signing in (0: as a person who opens the
app straight away, while the scrubber still loads in the background); `--after-idle` lets a
first visitor open the sign-in page (which starts the warm-up) and signs in only once the app
is idle again, which shows what the warm-up costs the first view. Prints figures only,
no asserts. Target: the first view within 2 s of a warm one.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _browser_app as ba  # noqa: E402

from workbench.services.demo._accounts import DEMO_PASSWORD  # noqa: E402

MANAGER = "demo-manager"
FIGURES_JS = """() => {
  const main = document.querySelector('[data-testid=stMainBlockContainer]');
  const stale = '[data-testid=stElementContainer][data-stale=true]';
  if (!main || main.querySelector(stale)) return false;
  const charts = [...main.querySelectorAll('[data-testid=stPlotlyChart]')]
    .filter(c => c.offsetParent !== null);
  return charts.length >= 4 && charts.every(c => c.querySelector('svg.main-svg'))
    && main.querySelectorAll('[data-testid=stMetric]').length >= 3;
}"""


async def view(page, runs: ba.ScriptRuns) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Seconds from the menu click until the server finished, and until the figures show."""
    done = runs.finished
    t0 = time.perf_counter()
    await ba.nav(page, "Dashboard")
    await runs.wait_finished(done)
    server = time.perf_counter() - t0
    await page.wait_for_function(FIGURES_JS)
    return server, time.perf_counter() - t0


async def away(page, runs: ba.ScriptRuns) -> None:  # type: ignore[no-untyped-def]
    done = runs.finished
    await ba.nav(page, "Start")
    await runs.wait_finished(done)
    await page.get_by_text(f"Welkom, {MANAGER}").wait_for()


async def signed_in_page(browser, url: str):  # type: ignore[no-untyped-def]
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1100})
    page = await ctx.new_page()
    page.set_default_timeout(ba.WAIT_MS * 2)
    runs = ba.ScriptRuns(page)
    await ba.sign_in_staff(page, url, MANAGER, DEMO_PASSWORD)
    await runs.wait_finished(0)
    return ctx, page, runs


def _app_pid(start_pid: int) -> int:
    """The app process among `workbench start`'s children (the other is its worker)."""
    for pid in ba.child_pids(start_pid):
        if b"workbench.ui.asgi" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise RuntimeError("no app process under workbench start")


async def one_start(folder: Path, env: dict[str, str], warm: int, settle: float,
                    after_idle: bool, n: int) -> dict[str, object]:
    from playwright.async_api import async_playwright

    port = ba.free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / f"start-{n}.log"
    t_start = time.perf_counter()
    proc = ba.start([sys.executable, "-m", "workbench", "start", "--port", str(port)],
                    env=env, log=log)
    try:
        up = ba.wait_healthy(url, proc, log)
        if settle:
            await asyncio.sleep(settle)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=ba.CHROMIUM,
                                              args=ba.CHROMIUM_ARGS, headless=True)
            if after_idle:  # a first visitor started the warm-up; wait until it is done
                first_page = await browser.new_page()
                await first_page.goto(url)
                await first_page.get_by_role("tab", name="Medewerker").wait_for()
                await first_page.close()
                ba.wait_idle(_app_pid(proc.pid))
            ctx, page, runs = await signed_in_page(browser, url)
            signed_in = time.perf_counter() - t_start
            first = await view(page, runs)
            warms = []
            for _ in range(warm):
                await away(page, runs)
                warms.append(await view(page, runs))
            await ctx.close()
            ctx, page, runs = await signed_in_page(browser, url)
            new_tab = await view(page, runs)
            await ctx.close()
            await browser.close()
    finally:
        ba.stop(proc)
    return dict(up=up, signed_in=signed_in, first=first, warm=warms, new_tab=new_tab,
                load=ba.load_average())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="fresh app processes")
    parser.add_argument("--warm", type=int, default=5, help="warm views after each first one")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after the start before signing in")
    parser.add_argument("--after-idle", action="store_true",
                        help="sign in only once the app's warm-up (the scrubber) is done")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    args = parser.parse_args()
    if not Path(ba.CHROMIUM).exists():
        parser.error(f"Debian chromium is needed at {ba.CHROMIUM} (apt-get install chromium)")
    folder = Path(tempfile.mkdtemp(prefix="bench-first-dashboard-"))
    env = ba.data_env(folder)
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "workbench", "demo"], cwd=ba.ROOT, env=env,
                       check=True, capture_output=True)
        print(f"demo database made in {time.perf_counter() - t0:.0f} s ({folder})")
        results = []
        for n in range(args.starts):
            r = asyncio.run(one_start(folder, env, args.warm, args.settle, args.after_idle, n))
            results.append(r)
            first_server, first = r["first"]  # type: ignore[misc]
            warm = [w[1] for w in r["warm"]]  # type: ignore[attr-defined]
            print(f"start {n + 1}: up in {r['up']:.1f} s, signed in at {r['signed_in']:.1f} s; "
                  f"first view {first:.2f} s (server done at {first_server:.2f} s), warm "
                  f"median {statistics.median(warm):.2f} s, new tab on the warm server "
                  f"{r['new_tab'][1]:.2f} s (server done at {r['new_tab'][0]:.2f} s); "
                  f"{r['load']}")  # type: ignore[index]
        firsts = [r["first"][1] for r in results]  # type: ignore[index]
        warms = [w[1] for r in results for w in r["warm"]]  # type: ignore[attr-defined]
        tabs = [r["new_tab"][1] for r in results]  # type: ignore[index]
        first, warm = statistics.median(firsts), statistics.median(warms)
        verdict = "meets" if first - warm <= 2 else "misses"
        print(f"\nover {len(results)} starts: first view median {first:.2f} s "
              f"(max {max(firsts):.2f} s), warm view median {warm:.2f} s, difference "
              f"{first - warm:.2f} s ({verdict} the 2 s target); a new tab on a warm server "
              f"{statistics.median(tabs):.2f} s")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
