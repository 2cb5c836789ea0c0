"""Page latency with N people at once in real browsers on one app process.

N sessions (Debian chromium driven by playwright, one browser, one context per person) work on
one app process (`python -m workbench.ui.asgi`, as `workbench start` runs it) with its own fresh
SQLite database: half are panel members who join with a code, consent, start a role-play and
send K messages to the reference bot; the other half are experts who sign in, open
"Antwoorden beoordelen" and submit K scores. Each interaction is timed in the bench:

  send -> reply complete    Enter in the chat box until the server has finished the run that
                            shows the reply (websocket `script_finished`) and the page shows
                            it, with the chat box enabled again;
  submit -> next usable     the Insturen click until the run has finished and the next reply's
                            form is on screen, empty and nothing on the page stale.

People think between interactions (`--think`, seconds, randomised 0.5-1.5x; 0 = back to back).
App CPU per interaction is the app process's user+system time over the measured phase (sign-in
not included) divided by the interactions; the browsers' CPU (the driver and chromium) is shown
beside it, since both share the machine's cores. A last pass at `--profile-sessions` samples the
app with py-spy and groups what it was doing: script runs, database queries, rendering and
serialisation, the server and websocket.

    .venv/bin/python bench/page_latency.py [--sessions 5,10,20] [--interactions 10]
        [--think 1.0] [--profile-sessions 10] [--no-profile] [--py-spy PATH]

py-spy is not a dependency: `.venv/bin/pip install py-spy` (or `pip install --target DIR py-spy`
and pass `--py-spy DIR/bin/py-spy`); without it the profile pass is left out. Prints figures
only, no asserts. Target on this machine: p95 <= 1.5 s at 10 sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _browser_app as ba  # noqa: E402
import _profile  # noqa: E402

PASSWORD = "lang-genoeg-wachtwoord"
MESSAGES = ("Hoi. Ik weet niet of ik hier goed zit.", "Mijn partner schreeuwt heel veel.",
            "Gisteren gooide hij een bord naar me.", "Ik durf eigenlijk niet naar huis.",
            "De kinderen zijn er ook bij als het gebeurt.", "Wat kan ik nu het beste doen?",
            "Kan ik ook anoniem met iemand praten?", "Ik ben bang dat het erger wordt.")
REPLIES_PER_SEED_CONVERSATION = 6
# Both end a timing: nothing in the main area is stale (left from the run before), and ...
_FRESH = """  const main = document.querySelector('[data-testid=stMainBlockContainer]');
  const stale = '[data-testid=stElementContainer][data-stale=true]';
  if (!main || main.querySelector(stale)) return false;"""
# ... the n-th chat bubble is there and the chat box takes text again;
CHAT_JS = "n => {\n" + _FRESH + """
  const box = document.querySelector('[data-testid=stChatInputTextArea]');
  const bubbles = main.querySelectorAll('[data-testid=stChatMessage]').length;
  return bubbles >= n && !!box && !box.disabled;
}"""
# ... the rubric form of a reply is there, nothing ticked, Insturen clickable.
FORM_JS = "() => {\n" + _FRESH + """
  if (main.querySelectorAll('[data-testid=stRadio]').length < 2) return false;
  if (main.querySelector('input[type=radio]:checked')) return false;
  return [...main.querySelectorAll('button')]
    .some(b => b.innerText.includes('Insturen') && !b.disabled);
}"""


@dataclass
class Run:
    sessions: int
    send: list[float] = field(default_factory=list)
    submit: list[float] = field(default_factory=list)
    send_runs: list[int] = field(default_factory=list)  # script runs per interaction
    submit_runs: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    app_cpu_s: float = 0.0
    browser_cpu_s: float = 0.0
    wall_s: float = 0.0
    load: str = ""

    @property
    def interactions(self) -> int:
        return len(self.send) + len(self.submit)


# --- the data: one training day, plenty of replies still to score ------------------------------


def seed_day(*, sessions: list[int], k: int) -> tuple[int, int]:
    """A training day for today with the reference bot and enough unscored replies for every
    expert of every pass; returns (day id, replies made)."""
    from workbench.services import accounts, targets, training
    from workbench.services.context import get_engine, load_shipped_library

    engine, lib = get_engine(), load_shipped_library()
    experts = [n - n // 2 for n in sessions]
    overlap = min(10, max(experts))  # every expert of a pass can score every reply
    day_id = training.create_day(
        engine=engine, library=lib, name="Latentiemeting", day=date.today(),
        scenario_ids=sorted(lib.scenarios)[:3],
        bot_target_ids=[targets.list_targets(engine=engine)[0].id], overlap=overlap,
        exposure_cap=3)
    needed = (k + 2) * math.ceil(sum(experts) / overlap) + 4
    members = math.ceil(needed / REPLIES_PER_SEED_CONVERSATION)
    for code in accounts.issue_join_codes(engine=engine, training_day_id=day_id, count=members):
        who = accounts.redeem_join_code(engine=engine, code=code).participant_id
        card = training.roleplay_state(engine=engine, library=lib, participant_id=who).next_card
        assert card is not None
        cid = training.begin_roleplay(engine=engine, library=lib, participant_id=who,
                                      scenario_id=card.scenario_id, consent=True)
        for text in MESSAGES[:REPLIES_PER_SEED_CONVERSATION]:
            training.send_message(engine=engine, participant_id=who, conversation_id=cid,
                                  text=text)
            training.complete_reply(engine=engine, conversation_id=cid)
    return day_id, members * REPLIES_PER_SEED_CONVERSATION


def people(day_id: int, n: int, tag: str) -> tuple[list[str], list[str]]:
    """Join codes for the panel half and expert accounts for the other half of one pass."""
    from workbench.domain.enums import Role
    from workbench.services import accounts
    from workbench.services.context import get_engine

    engine = get_engine()
    codes = accounts.issue_join_codes(engine=engine, training_day_id=day_id, count=n // 2) \
        if n // 2 else []
    experts = [f"lat-{tag}-{i}" for i in range(n - n // 2)]
    for code in experts:
        accounts.create_staff(engine=engine, code=code, role=Role.expert, password=PASSWORD)
    return codes, experts


# --- one person in the browser ---------------------------------------------------------------


async def _shot(ctx, name: str) -> None:  # type: ignore[no-untyped-def]
    """What a failed session showed, for `--keep` (folder printed at the start)."""
    for page in ctx.pages:
        try:
            await page.screenshot(path=os.environ["WORKBENCH_DATA_DIR"] + f"/../fail-{name}.png",
                                  full_page=True)
        except Exception:  # noqa: BLE001  (the page may be gone)
            pass


async def _think(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds * random.uniform(0.5, 1.5))


async def panel_member(browser, url: str, code: str, k: int, think: float,  # type: ignore[no-untyped-def]
                       ready: asyncio.Barrier, run: Run) -> None:
    ctx = await browser.new_context(viewport={"width": 1200, "height": 1000})
    try:
        page = await ctx.new_page()
        page.set_default_timeout(ba.WAIT_MS)
        runs = ba.ScriptRuns(page)
        await page.goto(url)
        await page.get_by_label("Code van vandaag").fill(code)
        await page.get_by_role("button", name="Meedoen").click()
        await page.get_by_text("Voordat je begint").wait_for()
        await page.get_by_text("Ja, dat mag").click()
        await page.get_by_role("button", name="Beginnen").click()
        await page.get_by_text("Jouw rol:").wait_for()
        await page.wait_for_function(CHAT_JS, arg=0)
        box = page.get_by_test_id("stChatInputTextArea")
        await ready.wait()
        for i in range(1, k + 1):
            await _think(think)
            await box.fill(MESSAGES[i % len(MESSAGES)])
            done, started = runs.finished, runs.runs
            t0 = time.perf_counter()
            await box.press("Enter")
            await runs.wait_finished(done)
            await page.wait_for_function(CHAT_JS, arg=2 * i)
            run.send.append(time.perf_counter() - t0)
            run.send_runs.append(runs.runs - started)
    except Exception:
        await _shot(ctx, code)
        raise
    finally:
        await ctx.close()


async def _fill_scores(page) -> None:  # type: ignore[no-untyped-def]
    main = page.get_by_test_id("stMainBlockContainer")
    groups = main.get_by_test_id("stRadio")
    for i in range(await groups.count()):
        options = groups.nth(i).locator('[role="radiogroup"] label')
        # 1-5 scales: a 4; the yes/no question: "Ja".
        await options.nth(3 if await options.count() == 5 else 0).click()
    await page.get_by_role("textbox", name="Het antwoord dat jij zou sturen").fill(
        "Wat goed dat je dit vertelt. Ben je nu veilig?")


async def expert(browser, url: str, code: str, k: int, think: float,  # type: ignore[no-untyped-def]
                 ready: asyncio.Barrier, run: Run) -> None:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1200})
    try:
        page = await ctx.new_page()
        page.set_default_timeout(ba.WAIT_MS)
        runs = ba.ScriptRuns(page)
        await ba.sign_in_staff(page, url, code, PASSWORD)
        await ba.nav(page, "Antwoorden beoordelen")
        await page.wait_for_function(FORM_JS)
        await ready.wait()
        for _ in range(k):
            await _think(think)
            await _fill_scores(page)
            done, started = runs.finished, runs.runs
            t0 = time.perf_counter()
            await page.get_by_role("button", name="Insturen").click()
            await runs.wait_finished(done)
            await page.wait_for_function(FORM_JS)
            run.submit.append(time.perf_counter() - t0)
            run.submit_runs.append(runs.runs - started)
    except Exception:
        await _shot(ctx, code)
        raise
    finally:
        await ctx.close()


async def one_pass(browser, url: str, app_pid: int, day_id: int, n: int, k: int,  # type: ignore[no-untyped-def]
                   think: float, tag: str, sampler: _profile.Sampler | None = None) -> Run:
    """One pass of n sessions; the sampler, if any, runs only while they interact."""
    codes, experts = people(day_id, n, tag)
    run = Run(sessions=n)
    ready = asyncio.Barrier(n + 1)
    tasks = [asyncio.create_task(panel_member(browser, url, c, k, think, ready, run))
             for c in codes]
    tasks += [asyncio.create_task(expert(browser, url, c, k, think, ready, run))
              for c in experts]
    waiting = asyncio.create_task(ready.wait())
    pending = {waiting, *tasks}
    while not waiting.done():  # until everyone is signed in and on their page
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if any(t is not waiting and t.exception() for t in done):
            await ready.abort()  # one failed before the start: the others go on now
            break
    await asyncio.gather(waiting, return_exceptions=True)
    if sampler is not None:
        sampler.start()
    app0, browser0, t0 = ba.cpu_seconds(app_pid), ba.tree_cpu(os.getpid(), app_pid), \
        time.perf_counter()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    if sampler is not None:
        sampler.stop()
    for result in results:
        if isinstance(result, BaseException):
            run.errors.append(f"{type(result).__name__}: {str(result).splitlines()[0][:160]}")
    run.wall_s = time.perf_counter() - t0
    run.app_cpu_s = ba.cpu_seconds(app_pid) - app0
    run.browser_cpu_s = ba.tree_cpu(os.getpid(), app_pid) - browser0
    run.load = ba.load_average()
    return run


# --- the report ------------------------------------------------------------------------------


def _fmt(values: list[float]) -> str:
    if not values:
        return f"{'-':>6} {'-':>6}"
    return f"{statistics.median(values):6.2f} {ba.pct(values, 0.95):6.2f}"


def report(runs: list[Run], k: int, think: float) -> None:
    print(f"\nK = {k} interactions per session, think time {think:g} s (x0.5-1.5); "
          "times in seconds")
    print(f"{'N':>3} {'inter':>5} | {'send->reply':^13} | {'submit->next':^13} | "
          f"{'runs/int':^9} | {'CPU s/interaction':^17} | {'wall':>5} | errors | load")
    print(f"{'':>3} {'':>5} | {'p50':>6} {'p95':>6} | {'p50':>6} {'p95':>6} | "
          f"{'send':>4} {'sub':>4} | {'app':>8} {'browsers':>8} | {'s':>5} |")
    for r in runs:
        per = max(1, r.interactions)
        runs_send = statistics.mean(r.send_runs) if r.send_runs else float("nan")
        runs_sub = statistics.mean(r.submit_runs) if r.submit_runs else float("nan")
        print(f"{r.sessions:>3} {r.interactions:>5} | {_fmt(r.send)} | {_fmt(r.submit)} | "
              f"{runs_send:4.1f} {runs_sub:4.1f} | {r.app_cpu_s / per:8.3f} "
              f"{r.browser_cpu_s / per:8.3f} | {r.wall_s:5.0f} | {len(r.errors):>6} | "
              f"{r.load.split(' on ')[0].removeprefix('load average ')}")
        for e in r.errors[:3]:
            print(f"      error: {e}")
    at10 = [r for r in runs if r.sessions == 10]
    if at10:
        both = at10[0].send + at10[0].submit
        p95 = ba.pct(both, 0.95)
        verdict = "meets" if p95 <= 1.5 else "misses"
        print(f"\np95 of all interactions at N=10: {p95:.2f} s ({verdict} the 1.5 s target; "
              f"send {ba.pct(at10[0].send, 0.95):.2f} s, submit "
              f"{ba.pct(at10[0].submit, 0.95):.2f} s)")
    else:
        print("\n(no pass at N=10: the 1.5 s target is not judged)")


async def main_async(args: argparse.Namespace, folder: Path) -> None:
    from playwright.async_api import async_playwright

    t0 = time.perf_counter()
    passes = [*args.sessions, *([args.profile_sessions] if args.profile else [])]
    day_id, replies = seed_day(sessions=passes, k=args.interactions)
    print(f"seeded a training day with {replies} replies to score in "
          f"{time.perf_counter() - t0:.1f} s ({folder})")
    port = ba.free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "app.log"
    proc = ba.start([*ba.app_command(port), *args.app_arg], env=os.environ.copy(), log=log)
    runs: list[Run] = []
    try:
        print(f"app up in {ba.wait_healthy(url, proc, log):.1f} s (pid {proc.pid})")
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=ba.CHROMIUM,
                                              args=ba.CHROMIUM_ARGS, headless=True)
            # One first page view starts the app's warm-up (the scrubber loads in the
            # background); measure once that is done, as on a training day under way.
            first = await browser.new_page()
            await first.goto(url)
            await first.get_by_role("tab", name="Medewerker").wait_for(timeout=ba.WAIT_MS)
            await first.close()
            print(f"app idle after {ba.wait_idle(proc.pid):.0f} s of warm-up")
            for n in args.sessions:
                print(f"N={n}: {ba.load_average()} before", flush=True)
                runs.append(await one_pass(browser, url, proc.pid, day_id, n,
                                           args.interactions, args.think, f"n{n}"))
                print(f"N={n}: {runs[-1].interactions} interactions in "
                      f"{runs[-1].wall_s:.0f} s, {ba.load_average()}", flush=True)
            report(runs, args.interactions, args.think)
            if args.profile:
                spy = _profile.find_py_spy(args.py_spy)
                if spy is None:
                    print("\nprofile: py-spy not found (see the docstring); left out")
                else:
                    n = args.profile_sessions
                    sampler = _profile.Sampler(spy, proc.pid, folder / "profile.txt")
                    prof = await one_pass(browser, url, proc.pid, day_id, n, args.interactions,
                                          args.think, "prof", sampler)
                    report([prof], args.interactions, args.think)
                    print(f"\nprofile of the app during a pass at N={n} "
                          f"({prof.interactions} interactions, py-spy, {prof.load}):")
                    _profile.print_summary(sampler.read())
            await browser.close()
    finally:
        ba.stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="5,10,20",
                        type=lambda s: [int(x) for x in s.split(",") if x.strip()])
    parser.add_argument("--interactions", type=int, default=10, help="K per session")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds between interactions (x0.5-1.5); 0 = back to back")
    parser.add_argument("--profile-sessions", type=int, default=10)
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--py-spy", default=None, help="path of the py-spy binary")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    parser.add_argument("--app-arg", action="append", default=[],
                        help="an extra app option, e.g. --app-arg=--runner.postScriptGC=false")
    args = parser.parse_args()
    if not Path(ba.CHROMIUM).exists():
        parser.error(f"Debian chromium is needed at {ba.CHROMIUM} (apt-get install chromium)")
    folder = Path(tempfile.mkdtemp(prefix="bench-page-latency-"))
    os.environ.update(ba.data_env(folder))
    os.environ.pop("WORKBENCH_DATABASE_URL", None)
    try:
        asyncio.run(main_async(args, folder))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
