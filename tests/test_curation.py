"""Disagreement queue, adjudication, curation states with optimistic locking, bulk actions,
consent withdrawal and the export hand-over — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import builders
from tests.curation_support import PANEL_TEXT, World, build_world, full_values
from workbench.domain.enums import CurationState
from workbench.services import curation, export
from workbench.services.curation import ConflictError, CurationError, Decision
from workbench.storage.db import session_scope
from workbench.storage.tables import (
    Adjudication,
    AuditEvent,
    CuratedExample,
    Rating,
    RatingScore,
    RubricVersion,
    Turn,
)


@pytest.fixture
def world(engine: sa.Engine, library) -> World:
    w = build_world(engine, library)
    curation.sync_curated_examples(engine=engine)
    return w


@pytest.fixture
def lite(tmp_path) -> Iterator[sa.Engine]:
    """SQLite only, for rules that do not depend on the database (keeps the suite fast)."""
    from workbench.storage.db import make_engine, migrate

    eng = make_engine(f"sqlite:///{tmp_path / 'lite.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def lite_world(lite: sa.Engine, library) -> World:
    w = build_world(lite, library)
    curation.sync_curated_examples(engine=lite)
    return w


def example_of(engine: sa.Engine, turn_id: int) -> CuratedExample:
    with session_scope(engine) as s:
        ex = s.exec(select(CuratedExample).where(CuratedExample.turn_id == turn_id)).one()
        return ex


def rating_rows(engine: sa.Engine) -> list[tuple]:
    with session_scope(engine) as s:
        ratings = [(r.id, r.values, r.overall, r.unsafe, r.ideal_reply, r.comment, r.status,
                    r.updated_at, r.withdrawn) for r in s.exec(select(Rating).order_by(Rating.id))]
        scores = [tuple(x) for x in s.exec(select(RatingScore.rating_id, RatingScore.criterion,
                                                  RatingScore.value)
                                           .order_by(RatingScore.rating_id, RatingScore.criterion))]
    return ratings + scores


def test_sync_makes_unanimous_replies_gold_and_is_idempotent(lite, lite_world):
    states = {name: example_of(lite, t).state for name, t in lite_world.replies.items()}
    assert states["agreed"] == CurationState.gold
    assert {states[n] for n in ("critical", "spread3", "spread1", "roleplay")} == {
        CurationState.needs_review}
    again = curation.sync_curated_examples(engine=lite)
    assert (again.created, again.refreshed) == (0, 0)
    with session_scope(lite) as s:  # a late, dissenting rating on the agreed reply
        late = builders.participant(s, code="EXP-LATE")
        builders.rating(s, rater=late, turn=s.get(Turn, lite_world.replies["agreed"]),
                        rv=s.get(RubricVersion, lite_world.rv_id), values={"safety": 2})
    later = curation.sync_curated_examples(engine=lite)
    assert (later.created, later.refreshed) == (0, 1)
    assert example_of(lite, lite_world.replies["agreed"]).state == CurationState.needs_review


def test_queue_puts_critical_splits_first_then_spread(engine, world):
    queue = curation.disagreement_queue(engine=engine)
    order = {t: name for name, t in world.replies.items()}
    assert [order[q.turn_id] for q in queue] == ["critical", "spread3", "roleplay", "spread1"]
    first = queue[0]
    assert first.critical_disagreement and "safety" in first.criteria_in_dispute
    assert "unsafe" in first.criteria_in_dispute  # one rater's verdict was unsafe
    assert [q.spread for q in queue] == [3.0, 3.0, 2.0, 1.0]
    # Names for the page (the unsafe verdict has none in the rubric), and which reply it is.
    assert first.criterion_names["safety"] == "Veiligheid & acuut risico"
    assert "unsafe" not in first.criterion_names
    assert {q.reply_number for q in queue} == {1}  # one reply per conversation here


def test_adjudication_leaves_the_original_ratings_untouched(engine, world):
    turn = world.replies["critical"]
    before = rating_rows(engine)
    detail = curation.dispute_detail(engine=engine, turn_id=turn,
                                         rubric_version_id=world.rv_id)
    chosen = detail.ratings[1]
    adj = curation.adjudicate(
        engine=engine, turn_id=turn, rubric_version_id=world.rv_id, adjudicator_id=world.lead_id,
        decision=Decision(values=full_values(3), reason="Veiligheid is matig, niet onveilig",
                          ideal_reply_rating_id=chosen.rating_id),
        lock_version=detail.lock_version)
    assert rating_rows(engine) == before
    with session_scope(engine) as s:
        stored = s.get(Adjudication, adj.id)
        assert stored is not None and stored.adjudicator_id == world.lead_id
        assert stored.final_values["safety"] == 3 and stored.final_values["would_send"] is True
        assert stored.final_overall == 3.0 and stored.chosen_from_rating_id == chosen.rating_id
        assert stored.final_ideal_reply == chosen.ideal_reply and stored.created_at is not None
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "adjudication.create")).one()
    assert chosen.ideal_reply not in json.dumps(event.details)
    ex = example_of(engine, turn)
    assert ex.state == CurationState.gold and ex.ideal_reply == chosen.ideal_reply
    assert ex.ideal_reply_author_id == world.expert_ids[1]
    assert ex.lock_version == detail.lock_version + 1
    assert turn not in [q.turn_id for q in curation.disagreement_queue(engine=engine)]
    view = curation.get_example(engine=engine, example_id=ex.id or 0)
    assert view.adjudicated and view.scores["safety"] == 3.0


def test_nul_bytes_in_a_decision_are_dropped(engine, world):
    adj = curation.adjudicate(
        engine=engine, turn_id=world.replies["spread1"], rubric_version_id=world.rv_id,
        adjudicator_id=world.lead_id, lock_version=example_of(engine,
                                                              world.replies["spread1"]).lock_version,
        decision=Decision(values=full_values(3), reason="gep\x00lakt", unsafe_flag=False,
                          ideal_reply_text="Bel 0800-2000.\x00"))
    with session_scope(engine) as s:
        stored = s.get(Adjudication, adj.id)
        assert stored is not None
        assert (stored.reason, stored.final_ideal_reply) == ("geplakt", "Bel 0800-2000.")


REFUSALS = [
    ({"reason": "  "}, "curation.errors.adjudication_reason_required"),
    ({"values": {"safety": 3}}, "curation.errors.adjudication_missing_scores"),
    ({"values": full_values(7)}, "curation.errors.adjudication_invalid_score"),
    ({"ideal_reply_text": None}, "curation.errors.adjudication_ideal_reply_required"),
    ({"ideal_reply_rating_id": 1}, "curation.errors.adjudication_ideal_reply_required"),
    ({"adjudicator": "expert"}, "curation.errors.not_lead"),
]


def test_adjudication_refuses_incomplete_decisions(lite, lite_world):
    for change, key in REFUSALS:  # one world for all cases: each case is cheap, a database not
        fields = {"values": full_values(), "reason": "ok", "ideal_reply_text": "Nieuw antwoord"}
        fields.update({k: v for k, v in change.items() if k != "adjudicator"})
        adjudicator = lite_world.expert_ids[0] if "adjudicator" in change else lite_world.lead_id
        with pytest.raises(CurationError) as caught:
            curation.adjudicate(engine=lite, turn_id=lite_world.replies["spread1"],
                                    rubric_version_id=lite_world.rv_id, adjudicator_id=adjudicator,
                                    decision=Decision(**fields), lock_version=1)
        assert caught.value.key == key, change
    with session_scope(lite) as s:
        assert s.exec(select(Adjudication)).first() is None


def test_a_stale_edit_is_refused_with_a_clear_message(engine, world):
    ex = example_of(engine, world.replies["spread3"])
    curation.update_example(engine=engine, example_id=ex.id or 0, lock_version=ex.lock_version,
                            actor_id=world.lead_id, state=CurationState.accepted, tags=["a"])
    with pytest.raises(ConflictError) as caught:
        curation.update_example(engine=engine, example_id=ex.id or 0,
                                lock_version=ex.lock_version, actor_id=world.lead2_id,
                                state=CurationState.rejected, ideal_reply="van lead 2")
    assert str(caught.value).startswith("someone else changed this example since you opened it")
    assert caught.value.key == "curation.errors.conflict"
    now = example_of(engine, world.replies["spread3"])
    assert (now.state, now.tags, now.ideal_reply) == (CurationState.accepted, ["a"], None)
    assert now.lock_version == ex.lock_version + 1 and now.updated_by == world.lead_id


def test_concurrent_edits_of_one_version_let_exactly_one_win(engine, world):
    ex = example_of(engine, world.replies["spread1"])

    def edit(i: int) -> str:
        try:
            curation.update_example(engine=engine, example_id=ex.id or 0,
                                    lock_version=ex.lock_version, actor_id=world.lead_id,
                                    tags=[f"t{i}"])
            return "won"
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(edit, range(4)))
    assert sorted(outcomes) == ["conflict"] * 3 + ["won"]
    assert example_of(engine, world.replies["spread1"]).lock_version == ex.lock_version + 1


def test_gold_needs_an_adjudication_or_unanimity(lite, lite_world):
    ex = example_of(lite, lite_world.replies["spread1"])
    with pytest.raises(CurationError) as caught:
        curation.update_example(engine=lite, example_id=ex.id or 0,
                                lock_version=ex.lock_version, actor_id=lite_world.lead_id,
                                state=CurationState.gold)
    assert caught.value.key == "curation.errors.gold_needs_decision"
    agreed = example_of(lite, lite_world.replies["agreed"])
    view = curation.update_example(engine=lite, example_id=agreed.id or 0,
                                   lock_version=agreed.lock_version,
                                   actor_id=lite_world.facilitator_id,
                                   state=CurationState.gold, ideal_reply="Goed zo")
    assert view.state == CurationState.gold and view.ideal_reply == "Goed zo"


def test_filters_and_bulk_actions_report_stale_rows(lite, lite_world):
    low_clarity = curation.list_examples(engine=lite, filters=curation.CurationFilter(
        criterion="clarity", below=3.5))
    assert {v.turn_id for v in low_clarity} == {lite_world.replies["spread1"],
                                                lite_world.replies["spread3"]}
    unsafe = curation.list_examples(engine=lite, filters=curation.CurationFilter(unsafe=True))
    assert [v.turn_id for v in unsafe] == [lite_world.replies["critical"]]
    views = curation.list_examples(engine=lite,
                                   filters=curation.CurationFilter(training_day_id=lite_world.day_id))
    assert len(views) == 5
    scenario = views[0].scenario_id
    by_scenario = curation.list_examples(engine=lite, filters=curation.CurationFilter(
        scenario_ids=frozenset({scenario})))
    assert by_scenario and all(v.scenario_id == scenario for v in by_scenario)
    risk = views[0].risk_level
    assert all(v.risk_level == risk for v in curation.list_examples(
        engine=lite, filters=curation.CurationFilter(risk_levels=frozenset({risk}))))
    form = views[0].violence_forms[0]
    assert all(form in v.violence_forms for v in curation.list_examples(
        engine=lite, filters=curation.CurationFilter(violence_forms=frozenset({form}))))

    versions = {v.id: v.lock_version for v in low_clarity}
    stale = low_clarity[0]
    curation.update_example(engine=lite, example_id=stale.id, lock_version=stale.lock_version,
                            actor_id=lite_world.lead2_id, tags=["eerst"])
    result = curation.bulk_update(engine=lite, versions=versions, actor_id=lite_world.lead_id,
                                  state=CurationState.rejected, add_tags=["helder", " "])
    assert result.conflicts == [stale.id] and result.updated == [low_clarity[1].id]
    rejected = curation.list_examples(engine=lite, filters=curation.CurationFilter(
        states=frozenset({"rejected"}), tags=frozenset({"helder"})))
    assert [v.id for v in rejected] == [low_clarity[1].id]
    refused = curation.bulk_update(engine=lite, versions={rejected[0].id:
                                                            rejected[0].lock_version},
                                   actor_id=lite_world.lead_id, state=CurationState.gold)
    assert refused.refused == [rejected[0].id] and not refused.updated


def texts_of(examples: list[export.ExportExample]) -> str:
    return json.dumps([[m.content for m in e.messages] + [e.bot_reply, e.ideal_reply or ""]
                       for e in examples], ensure_ascii=False)


def accept_all(engine: sa.Engine, world: World) -> None:
    views = curation.list_examples(engine=engine)
    curation.bulk_update(engine=engine, versions={v.id: v.lock_version for v in views
                                                  if v.state != CurationState.gold},
                         actor_id=world.lead_id, state=CurationState.accepted)


def test_export_hands_over_consented_examples_with_context(engine, world):
    accept_all(engine, world)
    examples = export.curated_examples_for_export(engine=engine)
    assert len(examples) == 5 and [e.example_id for e in examples] == sorted(
        e.example_id for e in examples)
    role_play = next(e for e in examples if e.turn_id == world.replies["roleplay"])
    assert [m.content for m in role_play.messages] == [PANEL_TEXT]
    assert role_play.system_prompt and role_play.scenario_id and role_play.risk_level
    assert role_play.scores["safety"] == pytest.approx(3.0) and role_play.n_ratings == 3
    assert len(export.curated_examples_for_export(
        engine=engine, states=[CurationState.gold])) == 1
    assert all(e.score is not None and e.score >= 3.5 for e in
               export.curated_examples_for_export(engine=engine, min_score=3.5))
    tag = role_play.scenario_tags[0]
    assert role_play.example_id in [e.example_id for e in export.curated_examples_for_export(
        engine=engine, tags=[tag])]
    with session_scope(engine) as s:  # a panel member who did not consent
        for t in s.exec(select(Turn).where(Turn.author_participant_id == world.panel_id)):
            t.consent_to_use = False
            s.add(t)
    assert PANEL_TEXT not in texts_of(export.curated_examples_for_export(engine=engine))
    assert PANEL_TEXT in texts_of(export.curated_examples_for_export(engine=engine,
                                                                       consent_only=False))


def test_withdrawal_removes_text_and_ratings_from_reuse(engine, world):
    accept_all(engine, world)
    assert PANEL_TEXT in texts_of(export.curated_examples_for_export(engine=engine))
    report = curation.withdraw_participant(engine=engine, code=world.panel_code, actor="FAC-1")
    assert (report.turns, report.conversations, report.curated_examples) == (2, 1, 1)
    exported = export.curated_examples_for_export(engine=engine, consent_only=False)
    assert PANEL_TEXT not in texts_of(exported) and len(exported) == 4
    assert world.replies["roleplay"] not in [v.turn_id for v in curation.list_examples(
        engine=engine)]
    with session_scope(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "participant.withdraw")
                       ).one()
        assert event.details["turns"] == 2 and PANEL_TEXT not in json.dumps(event.details)
        assert all(t.withdrawn for t in s.exec(select(Turn).where(
            Turn.author_participant_id == world.panel_id)))
    again = curation.withdraw_participant(engine=engine, code=world.panel_code)
    assert again.already_withdrawn and again.turns == 0


def test_withdrawing_an_expert_clears_their_chosen_rewrite_and_ratings(engine, world):
    turn = world.replies["critical"]
    detail = curation.dispute_detail(engine=engine, turn_id=turn,
                                         rubric_version_id=world.rv_id)
    mine = next(r for r in detail.ratings if r.rater == world.expert_codes[0])
    curation.adjudicate(engine=engine, turn_id=turn, rubric_version_id=world.rv_id,
                            adjudicator_id=world.lead_id,
                            decision=Decision(values=full_values(2), reason="x",
                                              ideal_reply_rating_id=mine.rating_id),
                            lock_version=detail.lock_version)
    before = curation.agreement_report(engine=engine, n_boot=0)
    report = curation.withdraw_participant(engine=engine, code=world.expert_codes[0])
    assert (report.ratings, report.curated_ideal_replies, report.adjudication_ideal_replies) == (
        5, 1, 1)
    ex = example_of(engine, turn)
    assert ex.ideal_reply is None and ex.state == CurationState.needs_review
    with session_scope(engine) as s:
        assert s.exec(select(Adjudication)).one().final_ideal_reply is None
        assert all(r.withdrawn for r in s.exec(select(Rating).where(
            Rating.rater_id == world.expert_ids[0])))
    after = curation.agreement_report(engine=engine, n_boot=0)
    assert after.excluded_withdrawn == 5 and after.n_ratings == before.n_ratings - 5
    assert mine.ideal_reply not in texts_of(export.curated_examples_for_export(
        engine=engine, states=list(CurationState)))
