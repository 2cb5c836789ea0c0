"""Batch-runner throughput: 40 scenarios x 4 turns against the fault server with 100 ms latency.

Prints achieved replies/s at concurrency 1, 8 and 32 with the ratio to the ideal
(concurrency / latency), the same conversations played by a bare aiohttp client (what the
server, loopback and conversation structure allow at all), and the runner's own CPU time per
reply at zero latency.
The server runs in its own process so it does not share the runner's GIL.

    .venv/bin/python bench/runner_throughput.py [--latency-ms 100] [--scenarios 40] [--turns 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, time
from workbench.bots.faults import FaultyChatApp, Latency
from workbench.bots.base import split_words
from workbench.bots.server import RunningServer
# A short fixed reply streamed word by word (about one chunk per token, as model servers send):
# the bench measures the runner, not text generation.
def reply(request):
    return split_words("Dank je dat je dit vertelt. Ben je nu veilig? Bel 112 bij direct gevaar.")
app = FaultyChatApp(reply, latency=Latency(first_chunk_ms=float(sys.argv[1])))
server = RunningServer(app).start()
print(server.port, flush=True)
while True:
    time.sleep(3600)
"""


def make_library(folder: Path, n_scenarios: int, n_turns: int) -> None:
    base = yaml.safe_load((ROOT / "scenarios" / "acuut-verwurging-partner.yaml").read_text())
    (folder / "scenarios").mkdir()
    (folder / "rubrics").mkdir()
    for f in (ROOT / "rubrics").glob("*.yaml"):
        (folder / "rubrics" / f.name).write_text(f.read_text())
    for i in range(n_scenarios):
        sc = dict(base, id=f"bench-{i:03d}", title=f"Bench scenario {i}")
        sc["scripted_turns"] = [{"text": f"Bericht {t + 1} in gesprek {i}."}
                                for t in range(n_turns)]
        (folder / "scenarios" / f"bench-{i:03d}.yaml").write_text(
            yaml.safe_dump(sc, allow_unicode=True))


def start_server(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(latency_ms)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def one_run(work: Path, base_url: str, concurrency: int, tag: str
            ) -> tuple[float, float, int, float]:
    """(wall of the whole run, CPU, replies, wall of the reply phase).

    The reply phase runs from the start event to the last stored conversation; the whole run
    adds fixed costs (client setup, reading back every turn, writing transcripts.jsonl and
    manifest.json) that a 0.5 s run at concurrency 32 would otherwise count as slowness."""
    from workbench.domain.enums import BotKind
    from workbench.domain.library import load_library
    from workbench.services.evaluation import create_run, execute_run
    from workbench.services.targets import add_target
    from workbench.storage.db import make_engine, migrate

    library = load_library([work / "scenarios", work / "rubrics"])
    engine = make_engine(f"sqlite:///{work / f'{tag}.db'}")
    migrate(engine)
    add_target(engine=engine, name="bench", kind=BotKind.openai, base_url=base_url,
               model="bench", prompt="p", label="v1", parameters={"max_retries": 0})
    run_id = create_run(engine=engine, library=library, bot_name="bench",
                        concurrency=concurrency)
    marks: dict[str, float] = {}

    def progress(event: str, _done: int, _total: int) -> None:
        marks.setdefault(event, time.perf_counter()) if event == "start" else \
            marks.__setitem__("last", time.perf_counter())

    cpu0, t0 = time.process_time(), time.perf_counter()
    summary = asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                      runs_dir=work / "runs", progress=progress))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert summary.failed == 0, summary.errors
    engine.dispose()
    return wall, cpu, summary.replies, marks["last"] - marks["start"]


async def bare_client(base_url: str, n_conversations: int, n_turns: int, concurrency: int
                      ) -> float:
    """Replies/s of the same conversations played by a bare aiohttp client: no SDK, no
    storage, the reply read and dropped. The ceiling that the server, loopback and the
    conversation structure allow, to read the runner's ratio against."""
    import aiohttp

    sem = asyncio.Semaphore(concurrency)

    async def conversation(session: aiohttp.ClientSession, i: int) -> None:
        messages = [{"role": "system", "content": "p"}]
        for t in range(n_turns):
            messages.append({"role": "user", "content": f"Bericht {t + 1} in gesprek {i}."})
            body = {"model": "bench", "messages": messages, "stream": True,
                    "stream_options": {"include_usage": True}}
            async with sem, session.post(f"{base_url}/chat/completions", json=body) as resp:
                async for _line in resp.content:
                    pass
            messages.append({"role": "assistant", "content": "..."})

    async with aiohttp.ClientSession() as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(conversation(session, i) for i in range(n_conversations)))
        return n_conversations * n_turns / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=float, default=100.0)
    ap.add_argument("--scenarios", type=int, default=40)
    ap.add_argument("--turns", type=int, default=4)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = ap.parse_args()
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_library(work, args.scenarios, args.turns)
        print(f"{args.scenarios} scenarios x {args.turns} turns, server latency "
              f"{args.latency_ms:.0f} ms (separate process), SQLite")
        print(f"{'concurrency':>11} {'replies':>8} {'run s':>7} {'replies s':>9} "
              f"{'replies/s':>10} {'ideal/s':>8} {'ratio':>6} {'ratio(run)':>10}")
        proc, url = start_server(args.latency_ms)
        try:
            for c in args.concurrency:
                wall, _cpu, n, phase = one_run(work, url, c, f"c{c}")
                ideal = c / (args.latency_ms / 1000)
                print(f"{c:>11} {n:>8} {wall:>7.2f} {phase:>9.2f} {n / phase:>10.1f} "
                      f"{ideal:>8.0f} {n / phase / ideal:>6.2f} {n / wall / ideal:>10.2f}")
            ceiling = [asyncio.run(bare_client(url, args.scenarios, args.turns, c))
                       for c in args.concurrency]
            print("bare aiohttp client, same server and conversations (the harness ceiling): "
                  + ", ".join(f"c={c} {r:.0f}/s ratio {r / (c / (args.latency_ms / 1000)):.2f}"
                              for c, r in zip(args.concurrency, ceiling, strict=True)))
        finally:
            proc.kill()
        proc, url = start_server(0)
        try:
            wall, cpu, n, _phase = one_run(work, url, 32, "zero")
            print(f"zero latency, concurrency 32: {n / wall:.0f} replies/s; runner CPU "
                  f"{1000 * cpu / n:.2f} ms per reply (client, streaming parse, storage)")
        finally:
            proc.kill()


if __name__ == "__main__":
    main()
