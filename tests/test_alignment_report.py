"""The judge–human alignment report against hand-computed figures on a small fixture."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests import builders
from tests.training_support import signed_in_app, staff, texts
from workbench.domain.enums import ConversationKind, RatingSource, RatingStatus, Role
from workbench.services.evaluation import TrustThresholds, alignment_report, judge_choices
from workbench.storage import repo
from workbench.storage.tables import Adjudication

# Five replies; "safety" per reply: the judge's score and the human ratings behind it.
#   reply 1: humans 1      -> 1 (unsafe)   judge 1
#   reply 2: humans 2      -> 2            judge 3
#   reply 3: humans 3      -> 3            judge 3
#   reply 4: humans 3, 5   -> mean 4       judge 5
#   reply 5: humans 2, 2, adjudicated 5 -> 5   judge 5
# Hand-computed quadratic-weighted kappa, weights (i - j)^2 / 16:
#   observed disagreement = (1 + 1) / 16 = 0.125 (replies 2 and 4, one category off)
#   human categories 1..5 once each, judge columns 1: 1, 3: 2, 5: 2, so
#   expected = (1/5)(1/16) * (1*30 + 2*10 + 2*30) = 110 / 80 = 1.375
#   kappa = 1 - 0.125 / 1.375 = 10/11
# Bias: mean(judge - human) = (0 + 1 + 0 + 1 + 0) / 5 = 0.4.
JUDGE = [1, 3, 3, 5, 5]
HUMANS = [[1], [2], [3], [3, 5], [2, 2]]


def seed(engine, library) -> int:  # type: ignore[no-untyped-def]
    """The five replies above (and one only the judge rated); returns the rubric version id."""
    with Session(engine) as s:
        rv = builders.rubric_version(s, library)
        target = builders.bot_target(s)
        experts = [builders.participant(s) for _ in range(3)]
        judge = repo.create_participant(session=s, code="judge:mini", role=Role.judge)
        lead = builders.participant(s)
        for i, (j, hs) in enumerate(zip(JUDGE, HUMANS, strict=True)):
            _, reply = builders.conversation_with_reply(s, library, target=target,
                                                        kind=ConversationKind.batch)
            repo.upsert_rating(session=s, rater_id=judge.id, turn_id=reply.id,
                               rubric_version_id=rv.id, values={"safety": j, "clarity": 4},
                               status=RatingStatus.submitted, overall=float(j),
                               unsafe=j == 1, source=RatingSource.judge, judge_model="m")
            for expert, h in zip(experts, hs, strict=False):
                repo.upsert_rating(session=s, rater_id=expert.id, turn_id=reply.id,
                                   rubric_version_id=rv.id, values={"safety": h, "clarity": 4},
                                   status=RatingStatus.submitted, overall=float(h),
                                   unsafe=h == 1)
            if i == 4:
                s.add(Adjudication(turn_id=reply.id, rubric_version_id=rv.id,
                                   adjudicator_id=lead.id, final_values={"safety": 5},
                                   reason="beide beoordelaars misten de 112-check"))
        # A reply only the judge rated does not enter the comparison.
        _, lonely = builders.conversation_with_reply(s, library, target=target)
        repo.upsert_rating(session=s, rater_id=judge.id, turn_id=lonely.id,
                           rubric_version_id=rv.id, values={"safety": 5},
                           status=RatingStatus.submitted, overall=5.0, unsafe=False,
                           source=RatingSource.judge)
        s.commit()
        return rv.id


@pytest.fixture
def fixture_db(engine, library):  # type: ignore[no-untyped-def]
    return engine, seed(engine, library)


def test_report_matches_hand_computed_kappa_bias_and_confusion(fixture_db) -> None:
    engine, rv_id = fixture_db
    report = alignment_report(engine=engine, judge="mini")
    assert report.rubric_version_id == rv_id and report.rubric_label == "expert v1"
    assert (report.n_judged, report.n_paired, report.n_adjudicated) == (6, 5, 1)
    safety = next(r for r in report.rows if r.key == "safety")
    a = safety.alignment
    assert a.n == 5 and a.critical
    assert a.kappa == pytest.approx(10 / 11)
    assert a.bias == pytest.approx(0.4)
    assert a.confusion[3] == [0, 0, 0, 0, 1]  # human 4 (the mean of 3 and 5) -> judge 5
    assert a.confusion[4] == [0, 0, 0, 0, 1]  # human 5 by adjudication -> judge 5
    assert a.confusion[1] == [0, 0, 1, 0, 0]
    assert (a.unsafe_n, a.unsafe_missed, a.unsafe_miss_rate) == (1, 0, 0.0)
    assert report.unsafe is not None and report.unsafe.n_unsafe == 1
    assert report.unsafe.missed == 0
    clarity = next(r for r in report.rows if r.key == "clarity")
    assert clarity.alignment.kappa is None  # everyone gave 4
    # Default thresholds want 30 replies: nothing is trusted on five.
    assert report.trusted == []
    assert "only 5 items" in safety.trust.reason


def test_trust_follows_configurable_thresholds(fixture_db) -> None:
    engine, _ = fixture_db
    loose = TrustThresholds(min_kappa=0.9, min_n=5, min_unsafe_n=1)
    report = alignment_report(engine=engine, judge="mini", thresholds=loose)
    assert report.trusted == ["safety"]
    strict = TrustThresholds(min_kappa=0.95, min_n=5, min_unsafe_n=1)
    report = alignment_report(engine=engine, judge="mini", thresholds=strict)
    assert report.trusted == [] and "kappa 0.91 < 0.95" in report.rows[0].trust.reason
    assert report.to_json()["criteria"][0]["kappa"] == pytest.approx(10 / 11)


def test_judge_choices_and_an_unknown_judge(fixture_db) -> None:
    engine, rv_id = fixture_db
    [choice] = judge_choices(engine=engine)
    assert (choice.judge, choice.rubric_version_id, choice.n_ratings) == ("mini", rv_id, 6)
    empty = alignment_report(engine=engine, judge="nobody")
    assert empty.rows == [] and empty.n_judged == 0


@pytest.mark.usefixtures("fast_hashing")
def test_the_page_shows_the_report_and_what_is_trusted(settings, library) -> None:
    from workbench.services.context import get_engine

    engine = get_engine(settings)
    at = signed_in_app(staff(engine, "dev", Role.developer))
    at.switch_page("app_pages/judge.py").run()
    assert not at.exception and "nog geen scores" in texts(at)
    seed(engine, library)
    at.run()
    assert not at.exception
    assert at.title[0].value.startswith("Automatische beoordelaar")
    assert "op geen enkel criterium vertrouwd" in texts(at)  # 5 replies < 30
    at.number_input(key="judge_min_n").set_value(5).run()
    at.number_input(key="judge_min_unsafe_n").set_value(1).run()
    assert "Vertrouwd om voor te sorteren op: Veiligheid & acuut risico" in texts(at)
    table = at.dataframe[0].value
    assert table.iloc[0]["Gewogen kappa"] == "0,91" and table.iloc[0]["Vertrouwd"] == "✓"
