"""The agreement service on a database: which ratings count, α per scope against the domain
computation, undefined cases in JSON, the calibration view, and `workbench agreement --json` on
the demo data (the noisier simulated panel must come out less reliable)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlmodel import select
from typer.testing import CliRunner

from tests import builders
from workbench.domain.agreement import NO_VARIATION, alpha
from workbench.domain.enums import Group, RatingSource, RatingStatus, Role
from workbench.services import curation
from workbench.storage import repo
from workbench.storage.db import session_scope
from workbench.storage.tables import Rating, TrainingDay

EXPERT_SAFETY = [[1, 2, 3, 4, 5, 2], [1, 3, 4, 4, 5, 2], [2, 2, np.nan, 4, 4, 1]]
EXPERT_SEND = [[True, False, True, True, True, False], [True, False, False, True, True, False],
               [True, True, None, True, True, False]]
PANEL_SEND = [[True, False, True, True, True, False], [False, False, True, True, False, False]]


def seed(engine: sa.Engine, library, *, clarity: int | None = None) -> dict[str, Any]:
    """Six replies on one training day: three experts rate safety and would_send, two panel
    members would_send; plus ratings that must NOT count (judge, draft, other day)."""
    with session_scope(engine) as s:
        day = TrainingDay(name="Dag", day=date.today())
        other = TrainingDay(name="Andere dag", day=date.today())
        s.add_all([day, other])
        s.flush()
        erv = builders.rubric_version(s, library, "expert")
        prv = builders.rubric_version(s, library, "lived-experience")
        target = builders.bot_target(s)
        replies = [builders.conversation_with_reply(s, library, target=target,
                                                    training_day_id=day.id)[1]
                   for _ in range(6)]
        stray = builders.conversation_with_reply(s, library, target=target,
                                                 training_day_id=other.id)[1]
        experts = [builders.participant(s, code=f"E{i}") for i in range(3)]
        panel = [builders.participant(s, code=f"LE-{i}", role=Role.panel,
                                      group=Group.lived_experience) for i in range(2)]
        judge = builders.participant(s, code="JUDGE", role=Role.judge, group=None)
        for r, rater in enumerate(experts):
            for i, reply in enumerate(replies):
                if math.isnan(EXPERT_SAFETY[r][i]):
                    continue
                values = {"safety": int(EXPERT_SAFETY[r][i]), "would_send": EXPERT_SEND[r][i]}
                if clarity is not None:
                    values = {"clarity": clarity}
                builders.rating(s, rater=rater, turn=reply, rv=erv, values=values,
                                source=RatingSource.simulated if r == 2 else RatingSource.human)
            builders.rating(s, rater=rater, turn=stray, rv=erv, values={"safety": 5})
        for r, rater in enumerate(panel):
            for i, reply in enumerate(replies):
                builders.rating(s, rater=rater, turn=reply, rv=prv,
                                values={"would_send": PANEL_SEND[r][i], "felt_safe": 3})
        builders.rating(s, rater=judge, turn=replies[0], rv=erv, values={"safety": 5},
                        source=RatingSource.judge)
        draft_by = builders.participant(s, code="E-DRAFT")
        builders.rating(s, rater=draft_by, turn=replies[0], rv=erv, values={"safety": 5},
                        status=RatingStatus.draft)
        withdrawn = builders.rating(s, rater=draft_by, turn=replies[1], rv=erv,
                                    values={"safety": 5})
        withdrawn.withdrawn = True
        s.add(withdrawn)
        return {"day": day.id, "other": other.id, "erv": erv.id, "prv": prv.id,
                "replies": [r.id for r in replies], "experts": [e.code for e in experts]}


def rows_by(report: curation.AgreementReport) -> dict[tuple[str, str], Any]:
    return {(e.scope, e.criterion): e for e in report.entries}


def test_only_submitted_non_judge_ratings_of_the_day_count(engine: sa.Engine, library):
    ids = seed(engine, library)
    report = curation.agreement_report(engine=engine, training_day_id=ids["day"], n_boot=200)
    rows = rows_by(report)
    safety = rows[("expert", "safety")]
    expected = alpha(EXPERT_SAFETY, "ordinal", n_boot=200)
    assert safety.result.value == pytest.approx(expected.value)
    assert safety.result.ci_low == pytest.approx(expected.ci_low)
    assert (safety.result.n_items, safety.result.n_raters) == (6, 3)
    send = rows[("expert", "would_send")]
    assert send.level == "nominal"
    assert send.result.value == pytest.approx(alpha(
        [[np.nan if v is None else float(v) for v in row] for row in EXPERT_SEND],
        "nominal", n_boot=0).value)
    assert report.excluded_withdrawn == 1
    assert report.n_ratings == 17 + 12 and report.n_replies == 6
    assert ("between", "would_send") in rows and ("between", "safety") not in rows
    assert rows[("between", "would_send")].rubric == "expert v1 × lived-experience v1"
    everything = curation.agreement_report(engine=engine, n_boot=0)
    assert rows_by(everything)[("expert", "safety")].result.n_items == 7  # the other day too


def test_undefined_alpha_is_null_with_a_reason_in_json(tmp_path: Path, library):
    from workbench.storage.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    migrate(engine)
    ids = seed(engine, library, clarity=3)
    report = curation.agreement_report(engine=engine, training_day_id=ids["day"],
                                        rubric_version_id=ids["erv"])
    data = json.loads(json.dumps(report.to_json(), allow_nan=False))
    (row,) = [r for r in data["rows"] if r["criterion"] == "clarity"]
    assert row["alpha"] is None and row["undefined_reason"] == NO_VARIATION
    assert row["verdict"] == "undefined" and row["percent_agreement"] == 1.0
    assert any("fewer than 30" in w for w in row["warnings"])


def test_calibration_view_drivers_offsets_and_anchors(tmp_path: Path, library):
    from workbench.storage.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    ids = seed(engine, library)
    view = curation.calibration_view(engine=engine, rubric_version_id=ids["erv"],
                                      training_day_id=ids["day"], n_boot=0)
    assert view.group == "expert" and {e.criterion for e in view.entries} == {
        "safety", "would_send"}
    # Replies 0 (1/1/2) and 5 (2/2/1) split on critical safety (a 1 against a 2): first.
    first = view.drivers[0]
    assert first.critical_disagreement and first.excerpt.turn_id in ids["replies"]
    assert first.excerpt.text and first.excerpt.scenario_title
    spreads = [d.spread for d in view.drivers if not d.critical_disagreement]
    assert spreads == sorted(spreads, reverse=True)
    offsets = {o.rater: o for o in view.offsets}
    # By hand: E0 −1/6 (in line), E1 +2.5/6 (lenient), E2 −1.5/5 (strict).
    assert offsets["E0"].mean_offset == pytest.approx(-1 / 6)
    assert offsets["E1"].mean_offset == pytest.approx(2.5 / 6)
    assert offsets["E2"].mean_offset == pytest.approx(-0.3)
    assert [offsets[c].label for c in ("E0", "E1", "E2")] == ["in_line", "lenient", "strict"]
    assert [ex.turn_id for ex in view.anchors["safety"][4]] == [ids["replies"][3]]
    assert view.anchors["would_send"][True][0].text
    panel = curation.calibration_view(engine=engine, rubric_version_id=ids["prv"], n_boot=0)
    assert panel.group == "lived_experience"
    assert [o.rater for o in panel.offsets] and all(o.label != "unknown" for o in panel.offsets)


# --- the CLI on demo data ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    """One demo database for the module (a few seconds), in its own data folder."""
    from workbench.config import get_settings

    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_DATA_DIR", str(root / "data"))
        mp.setenv("WORKBENCH_RUNS_DIR", str(root / "runs"))
        mp.delenv("WORKBENCH_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        runner = CliRunner()
        result = runner.invoke(cli_app(), ["demo"])
        assert result.exit_code == 0, result.output
        yield runner
    get_settings.cache_clear()


def cli_app():  # type: ignore[no-untyped-def]
    from workbench.cli import app

    return app


def no_nan(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON")

    return json.loads(text, parse_constant=refuse)


def mean_alpha(rows: list[dict], scope: str) -> float:
    values = [r["alpha"] for r in rows if r["scope"] == scope and r["alpha"] is not None]
    assert values, scope
    return float(np.mean(values))


def test_agreement_json_recovers_the_noisier_group(demo_env: CliRunner):
    result = demo_env.invoke(cli_app(), ["agreement", "--training-day", "1", "--json",
                                         "--boot", "200"])
    assert result.exit_code == 0, result.output
    data = no_nan(result.stdout)
    rows = data["rows"]
    assert {r["scope"] for r in rows} == {"expert", "lived_experience", "between"}
    # Experts (noise sd 0.5) agree more than the panel (sd 1.2): on average, and on the one
    # criterion both rubrics share.
    assert mean_alpha(rows, "expert") > mean_alpha(rows, "lived_experience") + 0.1
    send = {r["scope"]: r for r in rows if r["criterion"] == "would_send"}
    assert send["expert"]["alpha"] > send["lived_experience"]["alpha"]
    for r in rows:
        assert {"alpha", "undefined_reason", "ci_low", "ci_high", "n_items",
                "percent_agreement", "warnings"} <= set(r)
        if r["alpha"] is not None and r["scope"] != "between":
            assert r["ci_low"] <= r["alpha"] <= r["ci_high"]
    table = demo_env.invoke(cli_app(), ["agreement", "--boot", "0"])
    assert table.exit_code == 0 and "would_send" in table.stdout and "nan" not in table.stdout


def test_participant_withdraw_on_the_command_line(demo_env: CliRunner):
    from workbench.config import get_settings
    from workbench.services.context import get_engine

    result = demo_env.invoke(cli_app(), ["participant", "withdraw", "DEMO-ERV-1", "--yes"])
    assert result.exit_code == 0, result.output
    assert "withdrawn DEMO-ERV-1" in result.stdout
    data = no_nan(demo_env.invoke(cli_app(), ["agreement", "--json", "--boot", "0"]).stdout)
    assert data["excluded_withdrawn_ratings"] > 0
    panel = [r for r in data["rows"] if r["scope"] == "lived_experience"]
    assert all(r["n_raters"] == 3 for r in panel)
    with session_scope(get_engine(get_settings())) as s:
        code_of = {p.id: p.code for p in repo.list_participants(session=s)}
        withdrawn = {code_of[r.rater_id]
                     for r in s.exec(select(Rating).where(Rating.withdrawn == sa.true()))}
    assert withdrawn == {"DEMO-ERV-1"}
    missing = demo_env.invoke(cli_app(), ["participant", "withdraw", "NOBODY", "--yes"])
    assert missing.exit_code == 2 and "NOBODY" in missing.output
    lead = demo_env.invoke(cli_app(), ["participant", "lead", "DEMO-EXP-1"])
    assert lead.exit_code == 0 and "lead expert" in lead.stdout
    refused = demo_env.invoke(cli_app(), ["participant", "lead", "DEMO-ERV-2"])
    assert refused.exit_code == 1


def test_demo_and_a_withdrawal_leave_the_dashboard_statistics_right(
        demo_env: CliRunner) -> None:
    """After the demo and the command-line withdrawal above, the stored sums (once the next
    view folds the withdrawal's marks) equal aggregating the ratings."""
    from tests.test_dashboard_stats import assert_stored_matches_ratings
    from workbench.config import get_settings
    from workbench.services.context import get_engine

    stored = assert_stored_matches_ratings(get_engine(get_settings()))
    assert stored["replies"].sum() > 0 and stored["n_lived_experience"].sum() > 0
