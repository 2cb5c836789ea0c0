"""Judge throughput: 1,000 replies scored by the rubric judge against the fault server at 200 ms
latency, concurrency 32.

Prints judged replies/s, the ideal (concurrency / latency = 160/s) and the ratio (target >= 0.9),
plus the judge's own CPU time per reply at the end. The server runs in its own process so it does
not share the judge's GIL, and answers with a valid JSON judgement in two chunks, as a real
server would stream a short JSON answer. The replies to judge are made beforehand by the offline
reference bot (in process, not timed).

    .venv/bin/python bench/judge_throughput.py [--replies N] [--latency-ms MS] [--concurrency C]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = """
import json, sys, time
from workbench.bots.faults import FaultyChatApp, Latency
from workbench.bots.server import RunningServer
KEYS = ["safety", "accuracy", "listen_validate", "no_blame", "autonomy", "relevance",
        "transparency", "clarity"]
scores = {k: {"score": 4, "reason": "Passend en veilig voor deze situatie."} for k in KEYS}
scores["would_send"] = {"score": "yes", "reason": "Zo kan het naar een echt persoon."}
ANSWER = json.dumps({"scores": scores}, ensure_ascii=False)
def reply(request):
    return [ANSWER[:200], ANSWER[200:]]
app = FaultyChatApp(reply, latency=Latency(first_chunk_ms=float(sys.argv[1])))
server = RunningServer(app).start()
print(server.port, flush=True)
while True:
    time.sleep(3600)
"""


def start_server(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(latency_ms)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replies", type=int, default=1000)
    ap.add_argument("--latency-ms", type=float, default=200.0)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    os.environ["RAGAS_DO_NOT_TRACK"] = "true"
    from bench.runner_throughput import make_library  # same generated suite as the runner bench
    from workbench.bots.reference import ReferenceBot
    from workbench.domain.enums import BotKind
    from workbench.domain.library import load_library
    from workbench.services.evaluation import create_run, execute_run, judge_run
    from workbench.services.targets import add_target, list_targets
    from workbench.storage.db import make_engine, migrate

    # A suite the size of the shipped one (~24 scenarios), repeated, as `run --repeat K` makes.
    n_turns, n_scenarios = 5, 40
    repeat = -(-args.replies // (n_turns * n_scenarios))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_library(work, n_scenarios, n_turns)
        library = load_library([work / "scenarios", work / "rubrics"])
        engine = make_engine(f"sqlite:///{work / 'bench.db'}")
        migrate(engine)
        list_targets(engine=engine)
        run_id = create_run(engine=engine, library=library, bot_name="reference",
                            concurrency=32, repeat=repeat)
        asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                runs_dir=work / "runs", bot=ReferenceBot()))
        proc, url = start_server(args.latency_ms)
        try:
            add_target(engine=engine, name="bench-judge", kind=BotKind.openai, base_url=url,
                       model="bench-judge", prompt="-", label="v1",
                       parameters={"max_retries": 0, "timeout_s": 30})
            cpu0, t0 = time.process_time(), time.perf_counter()
            summary = judge_run(engine, run_id, "bench-judge", args.concurrency,
                                library=library)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        finally:
            proc.kill()
            proc.wait()
        assert summary.failed == 0, summary.failure_kinds
        n = summary.judged
        ideal = args.concurrency / (args.latency_ms / 1000)
        print(f"{n} replies judged, server latency {args.latency_ms:.0f} ms (separate process), "
              f"concurrency {args.concurrency}, SQLite")
        print(f"{'replies/s':>10} {'ideal/s':>8} {'ratio':>6} {'wall s':>7}")
        print(f"{n / wall:>10.1f} {ideal:>8.0f} {n / wall / ideal:>6.2f} {wall:>7.2f}")
        print(f"judge CPU {1000 * cpu / n:.2f} ms per reply (prompt, client, validation, "
              "storage)")
        engine.dispose()


if __name__ == "__main__":
    main()
