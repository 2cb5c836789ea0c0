"""Exports end to end on SQLite (one test also on PostgreSQL): scrubbing, the residual-PII gate,
consent and withdrawal, the manifest, atomic writes and the audit trail."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import builders as b
from workbench import __version__
from workbench.domain.enums import (
    ConversationKind,
    ConversationStatus,
    Group,
    PairwiseChoice,
    Role,
    TurnRole,
)
from workbench.domain.export_formats import ExportFormat
from workbench.domain.privacy import ScrubResult
from workbench.services.export import (
    ExportFilters,
    ExportOptions,
    ExportTargetError,
    ResidualPIIError,
    preview_export,
    write_export,
)
from workbench.services.export._write import sha256
from workbench.storage import repo
from workbench.storage.db import make_engine, migrate, session_scope
from workbench.storage.repo_curation import withdraw_participant_rows
from workbench.storage.tables import (
    Adjudication,
    AuditEvent,
    CuratedExample,
    ExportRecord,
    PairwiseJudgement,
    Participant,
    utcnow,
)

AT = datetime(2025, 9, 22, 12, 0, tzinfo=UTC)
PII_USER = ("Ik ben Sanne de Vries, mijn nummer is 06-12345678. Moet ik 0800-2000 of 112 bellen? "
            "Ik woon op de Kerkstraat 12a in 1234 AB.")
NO_CONSENT = "Rollenspel zonder toestemming: hij pakt elke avond mijn telefoon af."
WITH_CONSENT = "Rollenspel met toestemming: hij bepaalt wat ik uitgeef."
WITHDRAWN = "Rollenspel van iemand die zich terugtrok: hij volgt mij overal."
SCENARIOS = ("acuut-verwurging-partner", "buurvrouw-kinderen-alleen-op-galerij",
             "dwingende-controle-weekgeld-ben-jij-een-mens",
             "loverboy-schuld-lief-zijn-voor-vrienden", "oudere-man-zoon-neemt-spaargeld",
             "vechtscheiding-ex-gebruikt-kinderen")
FORMULA_COMMENT = '=HYPERLINK("http://evil.example.com") mail 06-87654321'


@dataclass
class Seeded:
    examples: dict[str, int] = field(default_factory=dict)  # name → curated example id
    turns: dict[str, int] = field(default_factory=dict)  # name → reply turn id
    participants: dict[str, int] = field(default_factory=dict)


def seed_export_data(engine: sa.Engine, lib: Any) -> Seeded:
    """Curated examples on six scenarios (two conversations each, one with two exchanges),
    PII in a user turn, role-play with and without consent, one by a participant who
    withdrew, an adjudicated ideal reply, a formula-looking comment and a pairwise pair."""
    out = Seeded()
    with session_scope(engine) as s:
        rv = b.rubric_version(s, lib)
        target, pv = b.bot_target(s, prompt="Je bent de chatbot van Veilig Thuis (0800-2000).")
        pv2 = repo.set_prompt(session=s, target=target, content="Je bent warm en kort.",
                              label="warm")
        expert, lead = b.participant(s), b.participant(s)  # lead: adjudicates below
        panel = b.participant(s, role=Role.panel, group=Group.lived_experience)
        leaver = b.participant(s, role=Role.panel, group=Group.lived_experience)
        out.participants.update(expert=expert.id, panel=panel.id, leaver=leaver.id)

        def curated(name: str, scenario: str, users: list[str], *, kind=ConversationKind.scripted,
                    author: Participant | None = None, consent: bool | None = None,
                    ideal: str | None = "Wat naar dat je dit meemaakt. Het is niet jouw schuld. "
                                        "Bel bij gevaar 112.", score: float = 3.0,
                    state: str = "gold", comment: str | None = None, prompt=pv,
                    **rating_over: Any) -> None:
            snap = repo.snapshot_scenario(session=s, loaded=lib.scenarios[scenario])
            conv = repo.create_conversation(
                session=s, kind=kind, scenario_snapshot_id=snap.id, bot_target_id=target.id,
                prompt_version_id=prompt.id, participant_id=author.id if author else None,
                consent_to_use=consent,
                status=ConversationStatus.finished)  # one panel member plays several
            reply = None
            for i, text in enumerate(users):
                repo.append_turn(session=s, conversation_id=conv.id, role=TurnRole.user,
                                 content=text, author_participant_id=author.id if author else None)
                reply = repo.append_turn(
                    session=s, conversation_id=conv.id, role=TurnRole.assistant,
                    content=f"Dank je dat je dit vertelt ({name}, {i}). Ben je nu veilig?",
                    prompt_version_id=prompt.id)
            assert reply is not None
            repo.upsert_rating(session=s, rater_id=expert.id, turn_id=reply.id,
                               rubric_version_id=rv.id, values={"safety": 3, "accuracy": 3},
                               status="submitted", overall=score, unsafe=False,
                               ideal_reply=ideal, comment=comment, **rating_over)
            ex = CuratedExample(turn_id=reply.id, state=state, rubric_version_id=rv.id,
                                score=score)
            s.add(ex)
            s.flush()
            out.examples[name], out.turns[name] = ex.id, reply.id

        for i, scenario in enumerate(SCENARIOS):
            curated(f"s{i}a", scenario, [f"Ik maak me zorgen over thuis (scenario {i})."])
            curated(f"s{i}b", scenario, ["Hoi, mag ik iets vragen?", f"Het gaat om mijn ex ({i})."],
                    score=4.5)
        curated("pii", SCENARIOS[0], [PII_USER], comment=FORMULA_COMMENT)
        curated("no_consent", SCENARIOS[1], [NO_CONSENT], kind=ConversationKind.roleplay,
                author=panel, consent=None)
        curated("consent", SCENARIOS[2], [WITH_CONSENT], kind=ConversationKind.roleplay,
                author=panel, consent=True)
        curated("leaver", SCENARIOS[3], [WITHDRAWN], kind=ConversationKind.roleplay,
                author=leaver, consent=True)
        curated("adjudicated", SCENARIOS[4], ["Mijn zoon neemt mijn pinpas mee."],
                ideal="Tekst van een beoordelaar.")
        s.add(Adjudication(turn_id=out.turns["adjudicated"], rubric_version_id=rv.id,
                           adjudicator_id=lead.id, final_values={"safety": 2}, final_overall=2.0,
                           final_ideal_reply="Tekst van de beslissing.", reason="oneens"))
        curated("no_ideal", SCENARIOS[5], ["Geen herschreven antwoord hier."], ideal=None)
        curated("rejected", SCENARIOS[5], ["Afgewezen voorbeeld."], state="rejected")
        # A second reply to the first scenario's opening message, from another prompt version,
        # that experts preferred in A/B judgements (2 votes to 1).
        curated("pw_winner", SCENARIOS[0], ["Ik maak me zorgen over thuis (scenario 0)."],
                prompt=pv2, state="needs_review")
        a, bb = sorted((out.turns["s0a"], out.turns["pw_winner"]))
        win = "b" if bb == out.turns["pw_winner"] else "a"
        for rater, choice in ((expert, win), (lead, win), (panel, "a" if win == "b" else "b")):
            s.add(PairwiseJudgement(rater_id=rater.id, turn_a_id=a, turn_b_id=bb,
                                    left_turn_id=a, choice=PairwiseChoice(choice)))
        leaver_row = s.get(Participant, leaver.id)
        assert leaver_row is not None
        leaver_row.withdrawn_at = utcnow()  # withdrawn; turns deliberately not marked here
        s.add(leaver_row)
    return out


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[sa.Engine, Seeded]:
    from workbench.domain.library import load_library

    root = Path(__file__).resolve().parent.parent
    lib = load_library([root / "scenarios", root / "rubrics"])
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('export') / 'x.db'}")
    migrate(eng)
    return eng, seed_export_data(eng, lib)


def run(engine: sa.Engine, tmp: Path, fmt: str, name: str = "out", **opts: Any):
    filters = opts.pop("filters", ExportFilters())
    return write_export(engine=engine, options=ExportOptions(format=ExportFormat(fmt),
                                                             filters=filters,
                                                        exported_at=AT, **opts),
                  out_dir=tmp / name, actor="dev-1")


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted(folder.iterdir())
                     if p.suffix in (".jsonl", ".csv", ".md"))


def test_pii_is_scrubbed_and_helplines_stay(seeded, tmp_path: Path) -> None:
    engine, _ = seeded
    result = run(engine, tmp_path, "openai-sft")
    text = all_text(result.out_dir)
    for pii in ("Sanne", "de Vries", "06-12345678", "Kerkstraat 12a", "1234 AB"):
        assert pii not in text
    assert "[PERSOON-1]" in text and "[TELEFOON-1]" in text
    assert "0800-2000" in text and "112" in text
    found = result.manifest["scrubber"]["findings"]
    assert found["PERSOON"] >= 1 and found["TELEFOON"] >= 1


def test_manifest_describes_the_files(seeded, tmp_path: Path) -> None:
    engine, ids = seeded
    result = run(engine, tmp_path, "openai-sft")
    m = json.loads((result.out_dir / "manifest.json").read_text())
    assert m == result.manifest | {"exported_at": AT.isoformat()}
    for name, facts in m["files"].items():
        assert sha256((result.out_dir / name).read_bytes()) == facts["sha256"]
    assert set(m["files"]) == {"train.jsonl", "validation.jsonl", "index.csv"}
    assert m["workbench_version"] == __version__ and m["exported_by"] == "dev-1"
    assert m["exported_at"] == "2025-09-22T12:00:00+00:00"
    assert m["filters"]["consent_only"] is True
    assert m["counts"]["by_state"] == {"gold": m["counts"]["records"]}
    assert m["counts"]["skipped"] == {"no_ideal_reply": 1, "no_user_message": 0}
    assert m["split"]["train"] + m["split"]["validation"] == m["counts"]["records"]
    assert [r["rubric_id"] for r in m["rubric_versions"]] == ["expert"]
    assert m["prompt_versions"][0]["sha256"] and m["scrubber"]["version"]
    with session_scope(engine) as s:
        rec = s.exec(select(ExportRecord).order_by(ExportRecord.id.desc())).first()
        assert rec is not None and rec.manifest["files"] == m["files"]
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "export.create")).all()
        assert any(e.entity_id == str(rec.id) and e.actor == "dev-1" for e in events)


def test_consent_only_by_default(seeded, tmp_path: Path) -> None:
    engine, _ = seeded
    default = all_text(run(engine, tmp_path, "trl-sft", "a").out_dir)
    assert WITH_CONSENT in default and NO_CONSENT not in default
    wider = all_text(run(engine, tmp_path, "trl-sft", "b",
                         filters=ExportFilters(consent_only=False)).out_dir)
    assert NO_CONSENT in wider


@pytest.mark.parametrize("fmt", ["openai-sft", "openai-dpo", "eval-set", "table", "fewshot"])
def test_withdrawn_participants_text_never_appears(seeded, tmp_path: Path, fmt: str) -> None:
    engine, _ = seeded
    text = all_text(run(engine, tmp_path, fmt, filters=ExportFilters(consent_only=False)).out_dir)
    assert WITHDRAWN not in text


def test_withdrawal_after_curation_removes_the_text(library, tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(eng)
    ids = seed_export_data(eng, library)
    before = all_text(run(eng, tmp_path, "trl-sft", "before").out_dir)
    assert WITH_CONSENT in before
    with session_scope(eng) as s:
        withdraw_participant_rows(session=s, participant_id=ids.participants["panel"])
    after = all_text(run(eng, tmp_path, "trl-sft", "after",
                         filters=ExportFilters(consent_only=False)).out_dir)
    assert WITH_CONSENT not in after and NO_CONSENT not in after


class MissesPhones:
    """A scrubber that forgets phone numbers, so the gate has something to find."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def find(self, text: str):  # type: ignore[no-untyped-def]
        return [f for f in self.real.find(text) if f.type != "TELEFOON"]

    def scrub(self, text: str, *, context=None) -> ScrubResult:  # type: ignore[no-untyped-def]
        from workbench.domain.privacy import ScrubContext, apply_placeholders

        found = self.find(text)
        return ScrubResult(apply_placeholders(text, found, context or ScrubContext()), found)


def test_gate_stops_export_with_residual_pii(seeded, tmp_path: Path, monkeypatch) -> None:
    from workbench.domain.privacy import get_scrubber
    from workbench.services.export import _scrub

    engine, ids = seeded
    monkeypatch.setattr(_scrub, "get_scrubber", lambda: MissesPhones(get_scrubber()))
    with pytest.raises(ResidualPIIError) as info:
        run(engine, tmp_path, "openai-sft")
    where = info.value.residuals
    assert where and {r.type for r in where} <= {"TELEFOON", "NUMMER"}  # the phone number
    assert any(r.record == f"ex-{ids.examples['pii']}" and r.field.startswith("messages[")
               for r in where)
    assert "06-12345678" not in str(info.value)  # the report says where, not what
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []
    with session_scope(engine) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "export.blocked")).first()

    result = run(engine, tmp_path, "openai-sft", allow_residual=True)
    assert "06-12345678" in all_text(result.out_dir)
    assert result.manifest["residual"]["allowed"] is True
    assert sum(result.manifest["residual"]["by_type"].values()) == len(result.residuals) > 0
    with session_scope(engine) as s:
        ev = s.exec(select(AuditEvent).where(
            AuditEvent.action == "export.residual_allowed")).one()
        assert ev.actor == "dev-1" and ev.entity_id == str(result.export_id)
        assert ev.details["count"] == len(result.residuals)


def test_cli_gate_and_allow_residual(seeded, settings, tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app
    from workbench.domain.privacy import get_scrubber
    from workbench.services.export import _scrub

    engine, _ = seeded
    monkeypatch.setattr("workbench.cli._common.engine", lambda: engine)
    monkeypatch.setattr(_scrub, "get_scrubber", lambda: MissesPhones(get_scrubber()))
    runner = CliRunner()
    stopped = runner.invoke(app, ["export", "--format", "openai-sft", "--out",
                                  str(tmp_path / "x")])
    assert stopped.exit_code == 1 and "residual" in stopped.output
    assert not (tmp_path / "x").exists()
    ok = runner.invoke(app, ["export", "--format", "openai-sft", "--out", str(tmp_path / "x"),
                             "--allow-residual", "--actor", "dev-2"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip().splitlines()[-1] == str(tmp_path / "x")
    with session_scope(engine) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "export.residual_allowed",
                                               AuditEvent.actor == "dev-2")).first()


def test_scrub_pool_gives_the_same_files(seeded, tmp_path: Path) -> None:
    engine, _ = seeded
    one = run(engine, tmp_path, "openai-dpo", "one", workers=1).out_dir
    two = run(engine, tmp_path, "openai-dpo", "two", workers=2).out_dir  # forks two finders
    for path in sorted(one.iterdir()):
        assert path.read_bytes() == (two / path.name).read_bytes(), path.name


def test_export_folder_must_be_new(seeded, tmp_path: Path) -> None:
    engine, _ = seeded
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(ExportTargetError):
        run(engine, tmp_path, "eval-set")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_ideal_reply_from_adjudication_then_rating(seeded, tmp_path: Path) -> None:
    engine, _ = seeded
    rows = [json.loads(x) for x in (run(engine, tmp_path, "eval-set").out_dir / "eval.jsonl")
            .read_text().splitlines()]
    refs = {r["reference"] for r in rows}
    assert "Tekst van de beslissing." in refs and "Tekst van een beoordelaar." not in refs
    assert "Wat naar dat je dit meemaakt. Het is niet jouw schuld. Bel bij gevaar 112." in refs


def test_dpo_has_curated_and_pairwise_pairs(seeded, tmp_path: Path) -> None:
    engine, ids = seeded
    result = run(engine, tmp_path, "trl-dpo")
    assert result.manifest["counts"]["from_pairwise"] == 1
    index = list(csv.DictReader(io.StringIO((result.out_dir / "index.csv").read_text())))
    sources = {r["record_id"]: r["source"] for r in index}
    a, bb = sorted((ids.turns["s0a"], ids.turns["pw_winner"]))
    assert sources[f"pw-{a}-{bb}"] == "pairwise"
    assert sources[f"ex-{ids.examples['s0a']}"] == "curated"  # scored 3.0 < 4.0
    assert f"ex-{ids.examples['s0b']}" not in sources  # scored 4.5: nothing to un-learn


def test_table_has_all_ratings_scrubbed_and_neutralised(seeded, tmp_path: Path) -> None:
    engine, ids = seeded
    out = run(engine, tmp_path, "table").out_dir
    text = (out / "ratings.csv").read_text()
    assert "06-87654321" not in text and "'=HYPERLINK" in text
    frame = pd.read_parquet(out / "ratings.parquet")
    table = pd.read_csv(out / "ratings.csv")
    assert len(frame) == len(table) == len(ids.examples) - 1  # all but the leaver's
    assert frame["score_safety"].dtype.kind == "i"
    assert str(ids.participants["expert"]) in set(frame["rater_id"].astype(str))
    assert frame.loc[frame["comment"].notna(), "comment"].str.startswith("=").any()


def test_preview_shows_scrubbed_records(seeded) -> None:
    engine, _ = seeded
    p = preview_export(engine=engine, options=ExportOptions(format=ExportFormat.openai_sft), n=2)
    assert p.counts["examples"] >= 12 and "train.jsonl" in p.files
    assert "Sanne" not in "".join(p.files.values())


@pytest.mark.parametrize("args", [
    {}, {"consent_only": False}, {"states": ["gold", "accepted", "rejected", "needs_review"]},
    {"tags": ["kindermishandeling"]}, {"min_score": 4.0}, {"risk_levels": ["acute"]},
    {"scenario_ids": [SCENARIOS[0], SCENARIOS[5]]}, {"rubric_version_id": 1},
], ids=str)
def test_fast_selection_equals_curations(seeded, args: dict[str, Any]) -> None:
    """The export reads examples with column queries; curation's ORM version is the reference."""
    from workbench.services.export import curated_examples_for_export
    from workbench.services.export import curated_examples_for_export as load_examples

    engine, _ = seeded
    ours = load_examples(engine=engine, **args)
    assert ours and ours == curated_examples_for_export(engine=engine, **args)


def test_every_format_on_both_databases(engine, library, tmp_path: Path) -> None:
    from workbench.services.export import curated_examples_for_export
    from workbench.services.export import curated_examples_for_export as load_examples

    seed_export_data(engine, library)
    assert load_examples(engine=engine) == curated_examples_for_export(engine=engine)
    for fmt in ExportFormat:
        result = run(engine, tmp_path, fmt, f"out-{fmt}")
        assert result.manifest["counts"]["records"] > 0, fmt
