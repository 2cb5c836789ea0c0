"""The prompt lab's services on SQLite and PostgreSQL: a candidate from the current prompt with
its diff and a scrubbed few-shot block of gold examples (ids recorded), the comparison's two
runs, and the audited promotion after which the target's current version is the candidate —
with the hostile twins of each input."""

from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.lab_support import (
    PII_REPLY,
    SCENARIOS,
    SIGN_OFF,
    candidate_text,
    curated_world,
    put_pii_in_a_gold_example,
    reference,
)
from workbench.domain import lab as rules
from workbench.domain.enums import CandidateStatus, RiskLevel
from workbench.services import export, lab
from workbench.services.evaluation import execute_run
from workbench.storage.tables import AuditEvent, CuratedExample, Run


@pytest.fixture
def world(engine: sa.Engine, library, tmp_path):  # type: ignore[no-untyped-def]
    """Gold examples to draw few-shot blocks from (the demo, on four scenarios)."""
    curated_world(engine, library, tmp_path / "runs")
    return engine


@pytest.fixture
def bare(engine: sa.Engine) -> sa.Engine:
    """Only the reference target, on its shipped prompt."""
    lab.lab_targets(engine=engine)
    return engine


def audits(engine: sa.Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)))


def gold_ids(engine: sa.Engine, form: str) -> set[int]:
    examples = export.curated_examples_for_export(engine=engine, states=("gold",))
    return {e.example_id for e in examples if form in e.scenario_tags}


def test_a_candidate_starts_from_current_with_a_diff_and_a_scrubbed_fewshot_block(
        world) -> None:  # type: ignore[no-untyped-def]
    pii_id = put_pii_in_a_gold_example(world)
    current = reference(world)
    assert current.current_label == "warm"
    block = lab.gold_fewshot(engine=world, forms=["partnergeweld"], per_tag=10,
                             token_budget=100_000)
    assert block.example_ids and set(block.example_ids) <= gold_ids(world, "partnergeweld")
    assert pii_id in block.example_ids
    # Scrubbed by the export's scrubber: the phone and the e-mail are gone, helplines stay.
    assert "06-12345678" not in block.text and "jan.jansen@example.nl" not in block.text
    assert "0800-2000" in block.text and "112" in block.text
    cand = lab.save_candidate(engine=world, target_name="reference",
                              text=candidate_text(current.current_text), label="kort-113",
                              fewshot=block, filters=lab.fewshot_filters(forms=["partnergeweld"]),
                              created_by="DEV-1")
    assert cand.status == CandidateStatus.candidate and not cand.is_current
    assert cand.fewshot_example_ids == block.example_ids
    assert cand.fewshot_filters["forms"] == ["partnergeweld"]
    assert rules.FEWSHOT_BEGIN in cand.text and block.text.strip() in cand.text
    assert f"+{SIGN_OFF}" in cand.diff and "-stijl: uitgebreid" in cand.diff
    assert cand.diff.startswith("--- warm\n+++ kort-113")
    assert cand.base_prompt_version_id == current.current_prompt_version_id
    assert reference(world).current_prompt_version_id == current.current_prompt_version_id
    (event,) = audits(world, "lab.candidate")
    assert event.actor == "DEV-1"
    assert event.details["fewshot_example_ids"] == list(block.example_ids)
    assert PII_REPLY not in str(event.details)
    assert [c.id for c in lab.list_candidates(engine=world, target_name="reference")] == [cand.id]


def test_fewshot_filters_by_scenario_and_risk_and_a_filter_matching_nothing(world) -> None:  # type: ignore[no-untyped-def]
    one = lab.gold_fewshot(engine=world, scenario_ids=[SCENARIOS[1]])
    with Session(world) as s:
        scenario_of = {e.example_id: e.scenario_id for e in
                       export.curated_examples_for_export(engine=world, states=("gold",))}
        assert s.exec(select(CuratedExample)).first() is not None
    assert one.example_ids and {scenario_of[i] for i in one.example_ids} == {SCENARIOS[1]}
    nothing = lab.gold_fewshot(engine=world, risk_levels=[RiskLevel.low])
    assert nothing.text == "" and nothing.example_ids == () and nothing.candidates == 0
    current = reference(world)
    cand = lab.save_candidate(engine=world, target_name="reference", fewshot=nothing,
                              text=candidate_text(current.current_text), label="zonder",
                              created_by="DEV-1")
    assert cand.fewshot_example_ids == () and rules.FEWSHOT_BEGIN not in cand.text
    with pytest.raises(lab.LabError) as caught:
        lab.gold_fewshot(engine=world, per_tag=0)
    assert caught.value.key == "lab.error.fewshot_size"


HOSTILE = [("x" * (rules.MAX_PROMPT_CHARS + 1), "lab.error.too_long"),
           ("Je bent de chatbot.\x00stijl: kort", "lab.error.nul"),
           ("   \n", "lab.error.empty")]


def test_hostile_prompt_texts_are_refused_and_nothing_is_saved(bare) -> None:  # type: ignore[no-untyped-def]
    for text, key in HOSTILE:
        with pytest.raises(lab.LabError) as caught:
            lab.save_candidate(engine=bare, target_name="reference", text=text, label="x",
                               created_by="DEV-1")
        assert caught.value.key == key
    assert lab.list_candidates(engine=bare, target_name="reference") == []
    with pytest.raises(lab.LabError) as caught:  # the few-shot block counts towards the size
        lab.save_candidate(engine=bare, target_name="reference", text="stijl: kort",
                           label="x", created_by="DEV-1", fewshot=export.FewShotBlock(
                               "Vraag: x\n" * rules.MAX_PROMPT_CHARS, (1,), 1, 1))
    assert caught.value.key == "lab.error.too_long"


def test_the_current_text_is_no_candidate_and_saving_twice_is_one_candidate(bare) -> None:  # type: ignore[no-untyped-def]
    current = reference(bare)
    with pytest.raises(lab.LabError) as caught:
        lab.save_candidate(engine=bare, target_name="reference", text=current.current_text,
                           label="zelfde", created_by="DEV-1")
    assert caught.value.key == "lab.error.unchanged"
    text = candidate_text(current.current_text)
    first = lab.save_candidate(engine=bare, target_name="reference", text=text, label="a",
                               created_by="DEV-1")
    again = lab.save_candidate(engine=bare, target_name="reference", text=text, label="a",
                               created_by="DEV-1")
    assert again.id == first.id and again.reused and not first.reused
    assert len(audits(bare, "lab.candidate")) == 1
    with pytest.raises(lab.LabError):
        lab.save_candidate(engine=bare, target_name="reference", text=text, label="x" * 81,
                           created_by="DEV-1")


def test_a_comparison_records_two_runs_on_the_same_suite_and_one_at_a_time(bare, library,
                                                                           tmp_path) -> None:  # type: ignore[no-untyped-def]
    current = reference(bare)
    cand = lab.save_candidate(engine=bare, target_name="reference", label="kort-113",
                              text=candidate_text(current.current_text), created_by="DEV-1")
    cmp = lab.record_comparison(engine=bare, candidate_id=cand.id, library=library,
                                scenario_ids=SCENARIOS[:2], repeat=2, created_by="DEV-1")
    with Session(bare) as s:
        run_a, run_b = s.get(Run, cmp.run_a), s.get(Run, cmp.run_b)
        assert run_a and run_b
        assert run_a.prompt_version_id == current.current_prompt_version_id
        assert run_b.prompt_version_id == cand.prompt_version_id
        assert run_a.scenario_ids == run_b.scenario_ids == SCENARIOS[:2]
        assert run_a.repeat == run_b.repeat == 2
    with pytest.raises(lab.LabError) as caught:  # the first may still run: no second
        lab.record_comparison(engine=bare, candidate_id=cand.id, library=library,
                              scenario_ids=SCENARIOS[:2], created_by="DEV-1")
    assert caught.value.key == "lab.error.comparison_running"
    for bad in (0, lab.MAX_REPEAT + 1):
        with pytest.raises(lab.LabError):
            lab.record_comparison(engine=bare, candidate_id=cand.id, library=library,
                                  repeat=bad, created_by="DEV-1")
    assert not lab.get_comparison(engine=bare, comparison_id=cmp.id).finished
    assert lab.lab_report(engine=bare, comparison_id=cmp.id).result is None
    for run_id in (cmp.run_a, cmp.run_b):
        asyncio.run(execute_run(engine=bare, run_id=run_id, library=library,
                                runs_dir=tmp_path / "runs"))
    lab.release_comparison(engine=bare, comparison_id=cmp.id)
    report = lab.lab_report(engine=bare, comparison_id=cmp.id)
    assert report.result is not None and report.comparison.finished
    assert report.result.paired_conversations == 4
    assert [(s.scenario_id, s.repeat_index) for s in report.sides] == [
        (SCENARIOS[0], 0), (SCENARIOS[0], 1), (SCENARIOS[1], 0), (SCENARIOS[1], 1)]
    pair = report.sides[0].replies[0]
    assert pair.current and pair.candidate and pair.current != pair.candidate
    assert "113" in pair.candidate and "113" not in pair.current
    second = lab.record_comparison(engine=bare, candidate_id=cand.id, library=library,
                                   scenario_ids=SCENARIOS[:1], created_by="DEV-1")
    assert second.id != cmp.id
    assert [c.id for c in lab.list_comparisons(engine=bare, candidate_ids=[cand.id])] == [
        second.id, cmp.id]


def test_promotion_is_audited_makes_the_candidate_current_and_happens_once(bare) -> None:  # type: ignore[no-untyped-def]
    current = reference(bare)
    cand = lab.save_candidate(engine=bare, target_name="reference", label="kort-113",
                              text=candidate_text(current.current_text), created_by="DEV-1")
    for bad, key in (("  ", "lab.error.empty"), ("a\x00b", "lab.error.nul"),
                     ("x" * (rules.MAX_REASON_CHARS + 1), "lab.error.too_long")):
        with pytest.raises(lab.LabError) as caught:
            lab.promote_candidate(engine=bare, candidate_id=cand.id, reason=bad, actor="DEV-1")
        assert caught.value.key == key
    done = lab.promote_candidate(engine=bare, candidate_id=cand.id, actor="DEV-1",
                                 reason="113 in de afsluiting, geen regressie")
    assert done.status == CandidateStatus.promoted and done.is_current
    assert done.promoted_by == "DEV-1" and done.promoted_at is not None
    assert reference(bare).current_prompt_version_id == cand.prompt_version_id
    (event,) = audits(bare, "lab.promote")
    assert event.actor == "DEV-1" and event.entity_id == str(cand.id) and event.at is not None
    assert event.details["from_prompt_version_id"] == current.current_prompt_version_id
    assert event.details["to_prompt_version_id"] == cand.prompt_version_id
    assert event.details["reason"] == "113 in de afsluiting, geen regressie"
    with pytest.raises(lab.LabError) as caught:
        lab.promote_candidate(engine=bare, candidate_id=cand.id, reason="nog eens",
                              actor="DEV-2")
    assert caught.value.key == "lab.error.promoted_already"
    assert len(audits(bare, "lab.promote")) == 1


def test_two_people_promoting_at_once_make_one_promotion(bare) -> None:  # type: ignore[no-untyped-def]
    current = reference(bare)
    cand = lab.save_candidate(engine=bare, target_name="reference", label="kort-113",
                              text=candidate_text(current.current_text), created_by="DEV-1")
    barrier, outcomes = threading.Barrier(2), []

    def promote(actor: str) -> None:
        barrier.wait()
        try:
            lab.promote_candidate(engine=bare, candidate_id=cand.id, reason="samen",
                                  actor=actor)
            outcomes.append("ok")
        except lab.LabError as exc:
            outcomes.append(exc.key)
        except sa.exc.OperationalError:  # SQLite: the loser may find the database locked
            outcomes.append("locked")

    threads = [threading.Thread(target=promote, args=(a,)) for a in ("DEV-1", "DEV-2")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert outcomes.count("ok") == 1
    assert len(audits(bare, "lab.promote")) == 1
    assert reference(bare).current_prompt_version_id == cand.prompt_version_id
