"""Bot limits as the services apply them: new targets cap replies at max_tokens, a run counts its
retries and cut-off replies, and `workbench run` exits 1 when a conversation failed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from tests.test_runs import seeded_fault_plan
from tests.test_runs_cli import ROOT, env_for, wb
from workbench.bots.faults import Fault, FaultAction, FaultyChatApp, Latency
from workbench.bots.server import RunningServer
from workbench.domain.enums import BotKind
from workbench.services.evaluation import create_run, execute_run
from workbench.services.targets import DEFAULT_MAX_TOKENS, add_target
from workbench.storage import repo
from workbench.storage.db import session_scope


def test_new_openai_targets_cap_replies_at_600_tokens(engine) -> None:
    add_target(engine=engine, name="new", kind=BotKind.openai, base_url="http://x/v1",
               model="m", prompt="p", label="v1")
    add_target(engine=engine, name="long", kind=BotKind.openai, base_url="http://x/v1",
               model="m", prompt="p", label="v1", parameters={"max_completion_tokens": 2000})
    with session_scope(engine) as s:
        assert repo.get_bot_target(session=s, name="new").parameters == {"max_tokens": 600}
        assert repo.get_bot_target(session=s, name="long").parameters == {
            "max_completion_tokens": 2000}
    assert DEFAULT_MAX_TOKENS == 600


def test_the_run_summary_counts_retries_and_truncated_replies(engine, library, tmp_path) -> None:
    plan = seeded_fault_plan(13, per_25={Fault.server_error: 2, Fault.rate_limit: 1,
                                         Fault.cut_stream: 1})
    app = FaultyChatApp(plan=plan, latency=Latency(first_chunk_ms=2))
    with RunningServer(app) as server:
        add_target(engine=engine, name="flaky", kind=BotKind.openai, base_url=server.base_url,
                   model="reference-v1", prompt="Je bent behulpzaam.", label="v1",
                   parameters={"max_tokens": 20})
        run_id = create_run(engine=engine, library=library, bot_name="flaky", repeat=2)
        summary = asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                          runs_dir=tmp_path))
        requests = app.recorded()
    assert summary.failed == 0
    assert summary.retries == len(requests) - summary.replies > 0
    assert 0 < summary.truncated_replies <= summary.replies
    manifest = json.loads((tmp_path / run_id / "manifest.json").read_text())
    assert manifest["retries"] == summary.retries
    print(f"\nretries={summary.retries} truncated={summary.truncated_replies}")


def test_workbench_run_exits_1_and_says_how_many_failed(tmp_path: Path) -> None:
    refuse = FaultAction(Fault.unauthorized)
    app = FaultyChatApp(latency=Latency(first_chunk_ms=1))
    app.plan.decide = lambda body, n: refuse if "zeven uur" in json.dumps(body) else None
    with RunningServer(app) as server:
        prompt = tmp_path / "p.txt"
        prompt.write_text("Je bent behulpzaam.")
        wb(tmp_path, "bot", "add", "r", "--kind", "openai", "--base-url", server.base_url,
           "--model", "reference-v1", "--prompt-file", str(prompt))
        done = subprocess.run(
            [sys.executable, "-m", "workbench", "run", "--bot", "r",
             "--scenario", "acuut-verwurging-partner",
             "--scenario", "vechtscheiding-ex-gebruikt-kinderen"],
            env=env_for(tmp_path), cwd=ROOT, text=True, capture_output=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "1 of 2 conversations failed" in done.stderr
    assert done.stdout.strip()  # the run id is still printed, for --resume
