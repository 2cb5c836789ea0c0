"""The scenario and rubric library: shipped files load, every error class names path:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.domain.enums import RiskLevel, ViolenceForm, Writer
from workbench.domain.library import load_library
from workbench.domain.rubrics import Rubric
from workbench.domain.scenarios import Scenario

ROOT = Path(__file__).resolve().parent.parent
RUBRIC = (ROOT / "rubrics" / "expert.yaml").read_text()
SCENARIO = (ROOT / "scenarios" / "acuut-verwurging-partner.yaml").read_text()


def problems_for(tmp_path: Path, name: str, text: str, folder_name: str = "lib") -> list[str]:
    folder = tmp_path / folder_name
    folder.mkdir(exist_ok=True)
    (folder / "expert.yaml").write_text(RUBRIC)
    (folder / "lived.yaml").write_text((ROOT / "rubrics" / "lived-experience.yaml").read_text())
    f = folder / name
    f.write_text(textwrap.dedent(text))
    return [str(p) for p in load_library([folder]).problems]


def test_shipped_library_is_valid_and_covers_the_domain(library) -> None:
    scenarios = [x.scenario for x in library.scenarios.values()]
    assert len(scenarios) >= 16
    assert {t for s in scenarios for t in s.tags} == set(ViolenceForm)
    assert {s.writer for s in scenarios} == set(Writer)
    assert {s.risk_level for s in scenarios} == set(RiskLevel)
    assert sum(s.risk_level == RiskLevel.acute for s in scenarios) >= 3
    assert all(3 <= len(s.scripted_turns) <= 6 for s in scenarios)
    expert = library.rubric("expert").rubric
    assert len([c for c in expert.criteria if c.scale == "likert_5"]) == 8
    assert all({1, 3, 5} <= set(c.anchors) for c in expert.criteria if c.scale == "likert_5")
    lived = library.rubric("lived-experience").rubric
    assert {"felt_heard", "felt_safe", "would_keep_talking", "would_send"} <= {
        c.key for c in lived.criteria}


def test_schema_round_trips(library) -> None:
    for item in library.scenarios.values():
        dumped = item.scenario.model_dump(mode="json", exclude_none=True)
        assert Scenario.model_validate(dumped) == item.scenario
    for item in library.rubrics.values():
        assert Rubric.model_validate(item.rubric.model_dump(mode="json")) == item.rubric


def test_cli_validate_passes_on_the_shipped_library() -> None:
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output


def test_unknown_key_is_reported_at_its_line(tmp_path: Path) -> None:
    text = SCENARIO.replace("risk_level: acute", "risk_level: acute\nriks: high")
    line = text.splitlines().index("riks: high") + 1
    got = problems_for(tmp_path, "s.yaml", text)
    assert got == [f"{tmp_path}/lib/s.yaml:{line}: riks: unknown key (not part of the schema; "
                   "a typo?)"]


def test_nested_unknown_key_and_bad_enum(tmp_path: Path) -> None:
    text = SCENARIO.replace("  age: 31", "  age: 31\n  leeftijd: 31").replace(
        "writer: victim", "writer: neighbour")
    lines = text.splitlines()
    got = problems_for(tmp_path, "s.yaml", text)
    path = f"{tmp_path}/lib/s.yaml"
    assert f"{path}:{lines.index('  leeftijd: 31') + 1}: persona.leeftijd: unknown key " \
           "(not part of the schema; a typo?)" in got
    assert any(g.startswith(f"{path}:{lines.index('writer: neighbour') + 1}: writer: ")
               for g in got)


def test_missing_field_points_at_the_parent(tmp_path: Path) -> None:
    text = SCENARIO.replace("  name: Samira (fictief)\n", "")
    line = text.splitlines().index("persona:") + 1
    got = problems_for(tmp_path, "s.yaml", text)
    assert got == [f"{tmp_path}/lib/s.yaml:{line}: persona.name: required field is missing"]


def test_duplicate_key(tmp_path: Path) -> None:
    text = SCENARIO.replace("risk_level: acute", "risk_level: acute\nrisk_level: low")
    line = text.splitlines().index("risk_level: low") + 1
    got = problems_for(tmp_path, "s.yaml", text)
    assert got == [f"{tmp_path}/lib/s.yaml:{line}: risk_level: duplicate key"]


def test_not_yaml_at_all(tmp_path: Path) -> None:
    got = problems_for(tmp_path, "s.yaml", "id: x\ntitle: [unclosed\nrubric: expert\n")
    assert len(got) == 1 and got[0].startswith(f"{tmp_path}/lib/s.yaml:3: (file): not valid YAML")
    got = problems_for(tmp_path, "t.yaml", "just a sentence\n", folder_name="lib2")
    assert got == [f"{tmp_path}/lib2/t.yaml:1: (file): expected a mapping of fields "
                   "(key: value) at the top level"]


def test_binary_file(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "x.yaml").write_bytes(b"\xff\xfe\x00\x01")
    assert [str(p) for p in load_library([folder]).problems] == [
        f"{folder}/x.yaml:1: (file): not a UTF-8 text file"]


def test_duplicate_scenario_id(tmp_path: Path) -> None:
    problems_for(tmp_path, "a.yaml", SCENARIO)
    got = problems_for(tmp_path, "b.yaml", SCENARIO)
    assert len(got) == 1
    assert got[0].endswith(": id: scenario id 'acuut-verwurging-partner' is also used by "
                           f"{tmp_path}/lib/a.yaml")
    assert got[0].startswith(f"{tmp_path}/lib/b.yaml:1: ")


def test_dangling_rubric_reference(tmp_path: Path) -> None:
    text = SCENARIO.replace("rubric: expert", "rubric: expertt")
    line = text.splitlines().index("rubric: expertt") + 1
    got = problems_for(tmp_path, "s.yaml", text)
    assert got == [f"{tmp_path}/lib/s.yaml:{line}: rubric: no rubric with id 'expertt'"]


def test_anchors_must_cover_the_scale(tmp_path: Path) -> None:
    text = RUBRIC.replace("id: expert\n", "id: expert2\n").replace(
        "      3: Erkent gevoelens in algemene woorden (\"dat is vervelend\").\n", "")
    lines = text.splitlines()
    # the listen_validate criterion is the third; its anchors start below its `anchors:` line
    start = lines.index("  - key: listen_validate")
    anchors_line = start + lines[start:].index("    anchors:") + 1
    got = problems_for(tmp_path, "r.yaml", text)
    assert got == [f"{tmp_path}/lib/r.yaml:{anchors_line}: criteria[2].anchors: "
                   "anchors must cover the scale: missing level(s) 3"]


def test_anchor_outside_the_scale(tmp_path: Path) -> None:
    text = RUBRIC.replace("id: expert\n", "id: expert3\n").replace(
        "      1: Kil, gaat voorbij aan gevoelens.", "      7: Kil.\n      1: Kil.")
    got = problems_for(tmp_path, "r.yaml", text)
    assert len(got) == 1 and "criteria[2].anchors: anchors outside the 1–5 scale: 7" in got[0]


@pytest.mark.parametrize("args", [["scenarios"], []])
def test_cli_reports_problems_and_exits_1(tmp_path: Path, args: list[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("risk_level: acute", "risk_level: extreme"))
    result = CliRunner().invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    line = bad.read_text().splitlines().index("risk_level: extreme") + 1
    assert result.stdout.splitlines()[0].startswith(f"{bad}:{line}: risk_level: ")
