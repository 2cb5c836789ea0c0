"""Each export format against its published shape (OpenAI chat and preference fine-tuning, TRL
conversational SFT and DPO, ragas samples), the TRL files loaded with `datasets`, the split
(seeded, no conversation or scenario on both sides), determinism and CSV injection."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.test_export import seed_export_data
from workbench.domain import export_formats as ef
from workbench.domain.export_formats import Example, ExportFormat, Msg
from workbench.services.export import ExportOptions, write_export

ROLES = {"system", "user", "assistant"}


def example(i: int = 1, **over: Any) -> Example:
    fields: dict[str, Any] = dict(
        example_id=i, conversation_id=100 + i, scenario_id=f"sc-{i % 3}",
        scenario_tags=("partnergeweld",), tags=(), state="gold", risk_level="medium",
        system="Je bent de chatbot van Veilig Thuis.",
        messages=(Msg("user", "Hoi"), Msg("assistant", "Hallo, waar kan ik je mee helpen?"),
                  Msg("user", f"Hij slaat me ({i}).")),
        bot_reply="Dat klinkt naar.", ideal_reply="Wat erg. Het is niet jouw schuld.",
        score=3.0, unsafe=False)
    fields.update(over)
    return Example(**fields)


# --- published shapes ---------------------------------------------------------------------------


def check_openai_chat(rec: dict[str, Any]) -> None:
    """OpenAI chat fine-tuning: {"messages": [...]}, role + content, optional weight 0/1 on
    assistant messages only, ending with a trained assistant message."""
    assert set(rec) == {"messages"}
    msgs = rec["messages"]
    for m in msgs:
        assert set(m) <= {"role", "content", "weight"} and m["role"] in ROLES
        assert isinstance(m["content"], str) and m["content"]
        if "weight" in m:
            assert m["role"] == "assistant" and m["weight"] in (0, 1)
    assert msgs[-1]["role"] == "assistant" and msgs[-1].get("weight", 1) == 1
    assert all(m["role"] == "system" for m in msgs[:1] if m["role"] == "system")


def check_openai_preference(rec: dict[str, Any]) -> None:
    """OpenAI DPO: input.messages, and exactly one assistant message in each output."""
    assert set(rec) == {"input", "preferred_output", "non_preferred_output"}
    assert set(rec["input"]) <= {"messages", "tools", "parallel_tool_calls"}
    msgs = rec["input"]["messages"]
    assert msgs and msgs[-1]["role"] == "user"
    assert all(set(m) == {"role", "content"} and m["role"] in ROLES for m in msgs)
    for key in ("preferred_output", "non_preferred_output"):
        assert len(rec[key]) == 1 and rec[key][0]["role"] == "assistant"
        assert isinstance(rec[key][0]["content"], str) and rec[key][0]["content"]
    assert rec["preferred_output"] != rec["non_preferred_output"]


def check_trl_sft(rec: dict[str, Any]) -> None:
    assert set(rec) == {"messages"}
    assert all(set(m) == {"role", "content"} and m["role"] in ROLES for m in rec["messages"])
    assert rec["messages"][-1]["role"] == "assistant"


def check_trl_dpo(rec: dict[str, Any]) -> None:
    """TRL conversational preference with explicit prompt."""
    assert set(rec) == {"prompt", "chosen", "rejected"}
    assert rec["prompt"][-1]["role"] == "user"
    for key in ("chosen", "rejected"):
        assert [m["role"] for m in rec[key]] == ["assistant"]


CHECKS = {ExportFormat.openai_sft: check_openai_chat, ExportFormat.trl_sft: check_trl_sft,
          ExportFormat.openai_dpo: check_openai_preference, ExportFormat.trl_dpo: check_trl_dpo}


def test_openai_sft_record() -> None:
    rec = ef.openai_sft(example())
    check_openai_chat(rec)
    assert rec["messages"][0] == {"role": "system",
                                  "content": "Je bent de chatbot van Veilig Thuis."}
    assert rec["messages"][2]["weight"] == 0  # an earlier bot turn: context only
    assert rec["messages"][-1] == {"role": "assistant",
                                   "content": "Wat erg. Het is niet jouw schuld."}
    with pytest.raises(ValueError):
        ef.openai_sft(example(ideal_reply=None))


def test_trl_records_and_pairs() -> None:
    check_trl_sft(ef.trl_sft(example(system=None)))
    pair = ef.curated_pairs([example()])[0]
    check_openai_preference(ef.openai_dpo(pair))
    rec = ef.trl_dpo(pair)
    check_trl_dpo(rec)
    assert rec["chosen"][0]["content"] == "Wat erg. Het is niet jouw schuld."
    assert rec["rejected"][0]["content"] == "Dat klinkt naar."


def test_curated_pairs_only_where_experts_scored_the_bot_lower() -> None:
    pairs = ef.curated_pairs([
        example(1, score=3.9), example(2, score=4.0), example(3, score=4.8, unsafe=True),
        example(4, score=2.0, ideal_reply=" Dat  klinkt naar. "), example(5, ideal_reply=None),
        example(6, score=None), example(7, messages=(Msg("assistant", "Hoi, ik ben de bot."),))])
    assert [p.record_id for p in pairs] == ["ex-1", "ex-3"]


def test_eval_record_loads_in_ragas(tmp_path: Path) -> None:
    ragas = pytest.importorskip("ragas")
    path = tmp_path / "eval.jsonl"
    path.write_bytes(ef.jsonl_bytes([ef.eval_record(example(i)) for i in range(3)]))
    ds = ragas.EvaluationDataset.from_jsonl(str(path))
    assert len(ds) == 3 and ds[0].user_input == "Hij slaat me (0)."
    assert ds[0].response == "Dat klinkt naar." and ds[0].reference.startswith("Wat erg")


# --- split --------------------------------------------------------------------------------------


def test_split_keeps_groups_whole_and_is_seeded() -> None:
    rng = random.Random(1)
    # Messy on purpose: conversations that touch several scenarios still stay on one side.
    items = [example(i, scenario_id=rng.choice([None, None, "a", "b", "c", "d", "e", "f"]),
                     conversation_id=rng.randint(1, 400)) for i in range(300)]

    def keys(e: Example) -> list[str]:
        return ef.split_keys(e.scenario_id, [e.conversation_id])

    train, val = ef.split(items, keys, 0.2, seed=7)
    assert len(train) + len(val) == 300 and val and train
    assert not {e.conversation_id for e in train} & {e.conversation_id for e in val}
    assert not {e.scenario_id for e in train if e.scenario_id} & \
        {e.scenario_id for e in val if e.scenario_id}
    assert (train, val) == ef.split(items, keys, 0.2, seed=7)
    shuffled = rng.sample(items, len(items))  # the input order does not pick the sides
    assert {e.example_id for e in ef.split(shuffled, keys, 0.2, seed=7)[1]} == \
        {e.example_id for e in val}
    seeds = {frozenset(e.example_id for e in ef.split(items, keys, 0.2, seed=s)[1])
             for s in range(6)}
    assert len(seeds) > 1  # the seed matters
    assert ef.split(items[:5], lambda e: ["one"], 0.5, seed=1) == (items[:5], [])


# --- few-shot ------------------------------------------------------------------------------------


def test_fewshot_best_per_tag_within_budget() -> None:
    exs = [example(1, scenario_tags=("partnergeweld",), state="accepted", score=5.0),
           example(2, scenario_tags=("partnergeweld",), state="gold", score=3.0),
           example(3, scenario_tags=("partnergeweld", "kindermishandeling"), score=4.0),
           example(4, scenario_tags=("kindermishandeling",), score=2.0, ideal_reply=None)]
    shot = ef.fewshot(exs, per_tag=1, token_budget=10_000)
    assert shot.per_tag == {"kindermishandeling": 1, "partnergeweld": 1}
    assert shot.example_ids == (2, 3)  # gold first; #3 under kindermishandeling, once
    assert shot.text.index("### kindermishandeling") < shot.text.index("### partnergeweld")
    assert "Hij slaat me (3)." in shot.text and "Hij slaat me (1)." not in shot.text
    tight = ef.fewshot(exs, per_tag=3, token_budget=80)
    assert tight.tokens <= 80 and len(tight.example_ids) < 3
    assert ef.estimate_tokens("een twee drie") == 4  # 3 words × 1.3, rounded up


# --- CSV injection ---------------------------------------------------------------------------


def test_csv_cells_cannot_become_formulas() -> None:
    evil = ["=1+1", "+31 6 1234", "-2+3", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"]
    data = ef.csv_bytes([{"a": v, "n": -3, "f": -0.5, "ok": "gewoon"} for v in evil],
                        ["a", "n", "f", "ok"]).decode()
    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    assert [r["a"] for r in rows] == ["'" + v for v in evil]
    assert data.count("\r\n") == len(evil) + 1  # the CR inside a cell is quoted, not a row
    assert {r["n"] for r in rows} == {"-3"} and {r["f"] for r in rows} == {"-0.5"}
    assert {r["ok"] for r in rows} == {"gewoon"}


# --- exports from a database ------------------------------------------------------------------

AT = datetime(2025, 9, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    from workbench.domain.library import load_library
    from workbench.storage.db import make_engine, migrate

    root = Path(__file__).resolve().parent.parent
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('formats') / 'f.db'}")
    migrate(eng)
    seed_export_data(eng, load_library([root / "scenarios", root / "rubrics"]))
    return eng


def do_export(db: sa.Engine, folder: Path, fmt: ExportFormat, at: datetime = AT,
              **opts: Any) -> Path:
    return write_export(engine=db, options=ExportOptions(format=fmt, exported_at=at, **opts),
                  out_dir=folder, actor="dev").out_dir


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_exported_files_have_the_published_shape(db, tmp_path: Path, fmt: ExportFormat) -> None:
    out = do_export(db, tmp_path / "x", fmt, validation_fraction=0.3)
    records = read_jsonl(out / "train.jsonl") + read_jsonl(out / "validation.jsonl")
    assert records and read_jsonl(out / "validation.jsonl")
    for rec in records:
        CHECKS[fmt](rec)


@pytest.mark.parametrize("fmt", [ExportFormat.trl_sft, ExportFormat.trl_dpo])
def test_trl_files_load_with_datasets(db, tmp_path: Path, monkeypatch, fmt) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    out = do_export(db, tmp_path / "x", fmt, validation_fraction=0.3)
    ds = datasets.load_dataset("json", data_files={"train": str(out / "train.jsonl"),
                                                   "validation": str(out / "validation.jsonl")},
                               cache_dir=str(tmp_path / "cache"))
    cols = ["messages"] if fmt == ExportFormat.trl_sft else ["prompt", "chosen", "rejected"]
    assert ds["train"].column_names == cols and ds["train"].num_rows > 0
    first = ds["train"][0][cols[0]]
    assert set(first[0]) == {"role", "content"}


def test_split_in_an_export_does_not_leak(db, tmp_path: Path) -> None:
    out = do_export(db, tmp_path / "x", ExportFormat.openai_sft, validation_fraction=0.3)
    index = list(csv.DictReader(io.StringIO((out / "index.csv").read_text())))
    sides: dict[str, dict[str, set[str]]] = {}
    for row in index:
        side = sides.setdefault(row["file"], {"conv": set(), "scenario": set()})
        side["conv"] |= set(row["conversation_ids"].split())
        side["scenario"].add(row["scenario_id"])
    train, val = sides["train.jsonl"], sides["validation.jsonl"]
    assert val["conv"] and not train["conv"] & val["conv"]
    assert not train["scenario"] & val["scenario"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"]["seed"] == 13
    assert manifest["split"]["validation"] == len(read_jsonl(out / "validation.jsonl"))


def test_exports_are_deterministic(db, tmp_path: Path) -> None:
    for fmt in ExportFormat:
        a = do_export(db, tmp_path / f"{fmt}-a", fmt)
        b = do_export(db, tmp_path / f"{fmt}-b", fmt)
        names = sorted(p.name for p in a.iterdir())
        assert names == sorted(p.name for p in b.iterdir()) and "manifest.json" in names
        for name in names:
            assert (a / name).read_bytes() == (b / name).read_bytes(), (fmt, name)
    # Another time changes the manifest's exported_at and nothing else.
    c = do_export(db, tmp_path / "later", ExportFormat.table,
                  at=datetime(2026, 1, 1, tzinfo=UTC))
    a = tmp_path / "table-a"
    for name in sorted(p.name for p in a.iterdir()):
        if name != "manifest.json":
            assert (a / name).read_bytes() == (c / name).read_bytes()
    ma, mc = (json.loads((d / "manifest.json").read_text()) for d in (a, c))
    assert ma.pop("exported_at") != mc.pop("exported_at") and ma == mc
