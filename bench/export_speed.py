"""Export benchmark: 100k curated examples in a temporary SQLite database → `openai-sft` with
scrubbing. Prints the scrubber's texts/s on this data (one process), the export's examples/s
and texts/s, and the total export time, with ratios to the targets (≥ 2,000 texts/s for the
scrubber, the whole export under 60 s). Asserts nothing.

Data: user turns from `bench/scrub_speed.py`'s generator (short Dutch chat texts, about 30%
with names, phones, addresses, IBANs, kentekens, e-mail, dates of birth or BSNs; fixed seed),
so both benchmarks measure the same texts; 1–3 exchanges per conversation; every example gold
or accepted with an ideal reply. The export runs with allow_residual and prints what the
residual-PII gate found, so a scrubber miss shows up as a figure instead of a stopped run.

    .venv/bin/python bench/export_speed.py [--n 100000] [--seed 11] [--workers N]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from scrub_speed import make_texts  # noqa: E402

from workbench.domain.export_formats import ExportFormat  # noqa: E402
from workbench.domain.library import load_library  # noqa: E402
from workbench.domain.privacy import DeduceScrubber, ScrubContext, get_scrubber  # noqa: E402
from workbench.services.export import ExportOptions, write_export  # noqa: E402
from workbench.storage import repo  # noqa: E402
from workbench.storage.db import make_engine, migrate, session_scope  # noqa: E402
from workbench.storage.tables import Conversation, CuratedExample, Turn  # noqa: E402

SCRUB_TARGET = 2000.0  # texts/s
EXPORT_TARGET_S = 60.0

BOT = [
    "Wat goed dat je dit vertelt. Ben je nu veilig?", "Dat klinkt heel zwaar. Wil je er meer "
    "over vertellen?", "Ik ben een chatbot, geen mens. Dit gesprek wordt niet opgeslagen.",
    "Bij direct gevaar bel je 112.", "Je kunt ook Veilig Thuis bellen op 0800-2000.",
    "Het is niet jouw schuld.", "Wat zou je nu het meest helpen?",
]
IDEAL = [
    "Wat goed dat je dit deelt. Het is niet jouw schuld. Ben je op dit moment veilig? Bij "
    "direct gevaar bel je 112.",
    "Dat klinkt heel beangstigend. Je mag bellen met Veilig Thuis op 0800-2000, gratis en "
    "24 uur per dag. Zij denken anoniem met je mee.",
    "Ik hoor dat je twijfelt, en dat is heel begrijpelijk. Wil je vertellen wat je het meest "
    "zorgen baart?",
    "Je hoeft niets te beslissen vandaag. Als je wilt, kunnen we samen kijken wat een veilige "
    "volgende stap is.",
    "Voor jongeren is er ook de Kindertelefoon: 0800-0432, gratis en anoniem.",
    "Wis je geschiedenis als hij je telefoon bekijkt, of gebruik een privévenster.",
]


def build_db(engine: sa.Engine, n: int, seed: int) -> tuple[int, int]:
    """n conversations with 1–3 exchanges, the last reply curated. Returns (turns, texts)."""
    rng = random.Random(seed)
    lib = load_library([ROOT / "scenarios", ROOT / "rubrics"])
    with session_scope(engine) as s:
        snaps = [repo.snapshot_scenario(session=s, loaded=lib.scenarios[k]).id
                 for k in sorted(lib.scenarios)]
        rv = repo.record_rubric_version(session=s, loaded=lib.rubric("expert"))  # type: ignore[arg-type]
        target = repo.create_bot_target(session=s, name="bench", kind="reference")
        pv = repo.set_prompt(session=s, target=target,
                             content=(ROOT / "workbench/prompts/basis.txt").read_text(),
                             label="basis")
        ids = (rv.id, target.id, pv.id)
    now = datetime.now(UTC)
    exchanges = [rng.choice([1, 1, 2, 3]) for _ in range(n)]
    users = iter(make_texts(sum(exchanges), seed))
    convs, turns, examples = [], [], []
    turn_id = 0
    for c in range(1, n + 1):
        convs.append({"id": c, "kind": "scripted", "status": "finished", "meta": {},
                      "scenario_snapshot_id": rng.choice(snaps), "bot_target_id": ids[1],
                      "prompt_version_id": ids[2], "is_demo": False, "started_at": now})
        for i in range(exchanges[c - 1]):
            for role, text in (("user", next(users)), ("assistant", rng.choice(BOT))):
                turn_id += 1
                turns.append({"id": turn_id, "conversation_id": c,
                              "index": 2 * i + (role == "assistant"), "role": role,
                              "content": text, "status": "ok", "parameters": {}, "started_at": now,
                              "created_at": now, "withdrawn": False,
                              "prompt_version_id": ids[2] if role == "assistant" else None})
        examples.append({"turn_id": turn_id, "state": rng.choice(["gold", "accepted"]),
                         "tags": [], "ideal_reply": rng.choice(IDEAL), "lock_version": 1,
                         "rubric_version_id": ids[0], "score": round(rng.uniform(1.5, 5), 2),
                         "updated_at": now, "withdrawn": False})
    with engine.begin() as conn:
        for table, rows in ((Conversation, convs), (Turn, turns), (CuratedExample, examples)):
            for i in range(0, len(rows), 20_000):
                conn.execute(table.__table__.insert(), rows[i:i + 20_000])  # type: ignore[attr-defined]
    return len(turns), len({t["content"] for t in turns} | {e["ideal_reply"] for e in examples})


def scrubber_rate(texts: list[str]) -> float:
    """Texts/s of one scrubber in this process on `texts`, without its result cache, one
    context per 20 texts (about a conversation)."""
    scrubber = DeduceScrubber(cache_size=0)
    start = time.perf_counter()
    ctx = ScrubContext()
    for i, text in enumerate(texts):
        if i % 20 == 0:
            ctx = ScrubContext()
        scrubber.scrub(text, context=ctx)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workers", type=int, default=None,
                        help="scrub processes for the export (default: automatic)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        start = time.perf_counter()
        n_turns, n_distinct = build_db(engine, args.n, args.seed)
        print(f"database: {args.n} curated examples, {n_turns} turns, {n_distinct} distinct "
              f"texts, built in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        get_scrubber().load()
        print(f"scrubber load (one-off): {time.perf_counter() - start:.1f} s")

        sample = make_texts(10_000, args.seed + 1) + IDEAL * 50 + BOT * 50
        rate = scrubber_rate(sample)
        print(f"scrubber alone, no cache, 1 process: {rate:,.0f} texts/s on {len(sample)} texts "
              f"(ratio to {SCRUB_TARGET:,.0f}/s: {rate / SCRUB_TARGET:.2f})")

        start = time.perf_counter()
        result = write_export(engine=engine, options=ExportOptions(
            format=ExportFormat.openai_sft, workers=args.workers, allow_residual=True,
            exported_at=datetime(2025, 1, 1, tzinfo=UTC)),
            out_dir=Path(tmp) / "out", actor="bench")
        total = time.perf_counter() - start
        m = result.manifest
        records = m["counts"]["records"]
        scrubbed = sum(m["scrubber"]["findings"].values())
        size = sum(f["bytes"] for f in m["files"].values()) / 1e6
        print(f"export openai-sft: {records:,} records (train {m['split']['train']:,}, "
              f"validation {m['split']['validation']:,}), {size:.0f} MB, {scrubbed:,} "
              f"findings replaced")
        res = m["residual"]
        print(f"residual-PII gate: {res['count']} finding(s) after scrubbing {res['by_type']}"
              + (" (the export would stop without allow_residual)" if res["count"] else ""))
        print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
        print(f"export total: {total:.1f} s (ratio to {EXPORT_TARGET_S:.0f} s: "
              f"{total / EXPORT_TARGET_S:.2f}); {records / total:,.0f} examples/s; "
              f"{(n_turns + records) / total:,.0f} texts/s through the whole export")


if __name__ == "__main__":
    main()
