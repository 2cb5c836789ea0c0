"""The scenario and rubric library: shipped files load, every error class names path:line."""

from __future__ import annotations

import os
import re
import textwrap
import time
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
        f"{folder}/x.yaml:1: (file): not a UTF-8 text file (byte 0xff cannot be read as UTF-8; "
        "save the file as UTF-8)"]


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


# --- Which files are read, and a library with problems is never silently half-used ---------

LIVED = (ROOT / "rubrics" / "lived-experience.yaml").read_text()


def test_yaml_suffixes_are_matched_whatever_their_case(tmp_path: Path) -> None:
    (tmp_path / "expert.YML").write_text(RUBRIC)
    (tmp_path / "lived.Yaml").write_text(LIVED)
    (tmp_path / "s.YAML").write_text(SCENARIO)
    lib = load_library([tmp_path])
    assert lib.ok, lib.problems
    assert list(lib.scenarios) == ["acuut-verwurging-partner"] and len(lib.rubrics) == 2
    assert lib.ignored == []


def test_other_files_are_named_as_ignored_but_do_not_fail(tmp_path: Path) -> None:
    problems_for(tmp_path, "s.yaml", SCENARIO)
    lib_dir = tmp_path / "lib"
    (lib_dir / "README.md").write_text("# Scenario's\n")
    (lib_dir / "s.yaml.bak").write_text(SCENARIO)
    (lib_dir / ".git").mkdir()
    (lib_dir / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "elsewhere").mkdir()
    (lib_dir / "linked").symlink_to(tmp_path / "elsewhere")  # a link may loop: not searched
    lib = load_library([lib_dir])
    assert lib.ok
    assert sorted(lib.ignored) == [f"{lib_dir}/{n}" for n in (".git", "README.md", "linked",
                                                              "s.yaml.bak")]
    assert f"{lib_dir}/README.md: note: ignored (not a .yaml or .yml file)" in lib.notes
    assert f"{lib_dir}/.git: note: ignored (a hidden or linked folder is not searched)" \
        in lib.notes


def test_a_folder_named_like_a_yaml_file_is_searched(tmp_path: Path) -> None:
    problems_for(tmp_path, "expert.yaml", RUBRIC)
    (tmp_path / "lib" / "old.yaml").mkdir()
    (tmp_path / "lib" / "old.yaml" / "s.yaml").write_text(SCENARIO)
    lib = load_library([tmp_path / "lib"])
    assert lib.ok, lib.problems
    assert list(lib.scenarios) == ["acuut-verwurging-partner"]


def test_every_file_with_a_problem_is_skipped_and_nothing_of_it_is_used(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    problems_for(tmp_path, "a-good.yaml", SCENARIO)
    (folder / "b-bad.yaml").write_text(
        SCENARIO.replace("id: acuut-verwurging-partner", "id: kapot-risico")
        .replace("risk_level: acute", "risk_level: extreme"))
    broken_rubric = RUBRIC.replace("id: expert\n", "id: kapot\n").replace(
        "audience: expert\n", "audience: iedereen\n")
    (folder / "c-rubric.yaml").write_text(broken_rubric)
    uses_it = SCENARIO.replace("id: acuut-verwurging-partner", "id: gebruikt-kapot").replace(
        "rubric: expert", "rubric: kapot")
    (folder / "d-uses-broken-rubric.yaml").write_text(uses_it)
    lib = load_library([folder])
    assert list(lib.scenarios) == ["acuut-verwurging-partner"]
    assert {rid for rid, _ in lib.rubrics} == {"expert", "lived-experience"}
    assert lib.skipped == [f"{folder}/b-bad.yaml", f"{folder}/c-rubric.yaml",
                           f"{folder}/d-uses-broken-rubric.yaml"]
    line = uses_it.splitlines().index("rubric: kapot") + 1
    assert [str(p) for p in lib.problems_by_file()[f"{folder}/d-uses-broken-rubric.yaml"]] == [
        f"{folder}/d-uses-broken-rubric.yaml:{line}: rubric: rubric 'kapot' has problems in "
        f"{folder}/c-rubric.yaml, so this scenario cannot be used"]
    used = {x.path for x in [*lib.scenarios.values(), *lib.rubrics.values()]}
    assert not used & set(lib.skipped)


def test_a_dangling_reference_leaves_the_scenario_out(tmp_path: Path) -> None:
    problems_for(tmp_path, "s.yaml", SCENARIO.replace("rubric: expert", "rubric: expertt"))
    lib = load_library([tmp_path / "lib"])
    assert lib.scenarios == {} and lib.skipped == [f"{tmp_path}/lib/s.yaml"]


def test_every_shipped_file_is_used(library) -> None:
    files = sorted([*(ROOT / "scenarios").iterdir(), *(ROOT / "rubrics").iterdir()])
    used = sorted(Path(x.path) for x in [*library.scenarios.values(), *library.rubrics.values()])
    assert used == files
    assert library.skipped == [] and library.ignored == []


def test_a_huge_file_is_refused_by_its_size_without_reading_it(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    with (folder / "huge.yaml").open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    start = time.perf_counter()
    lib = load_library([folder])
    assert time.perf_counter() - start < 1.0
    assert [str(p) for p in lib.problems] == [
        f"{folder}/huge.yaml:1: (file): file is 52,428,800 bytes; a library file may be at most "
        "1,000,000 bytes"]


def test_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "x.yaml").write_bytes("id: x\ntitle: Caf\u00e9\n".encode("latin-1"))
    assert [str(p) for p in load_library([folder]).problems] == [
        f"{folder}/x.yaml:2: (file): not a UTF-8 text file (byte 0xe9 cannot be read as UTF-8; "
        "save the file as UTF-8)"]


@pytest.mark.timeout(10)  # before the fix, opening the FIFO blocked forever
def test_a_fifo_named_yaml_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    os.mkfifo(folder / "pipe.yaml")
    assert [str(p) for p in load_library([folder]).problems] == [
        f"{folder}/pipe.yaml:1: (file): not a regular file"]


# --- Sloppy values the schema must not read generously ----------------------------------------

RUBRIC2 = RUBRIC.replace("id: expert\n", "id: expert2\n")


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("    weight: 2\n", "    weight: .inf\n", "criteria[0].weight",
     "must be a finite number, not inf"),
    ("    weight: 2\n", "    weight: .nan\n", "criteria[0].weight",
     "must be a finite number, not nan"),
    ("    weight: 2\n", "    weight: -1\n", "criteria[0].weight",
     "Input should be greater than or equal to 0"),
    ("    weight: 2\n", '    weight: "2"\n', "criteria[0].weight",
     "Input should be a valid number"),
    ("    critical: true\n", '    critical: "yes"\n', "criteria[0].critical",
     "must be true or false, not 'yes'"),
    ("    critical: true\n", "    critical: 1\n", "criteria[0].critical",
     "must be true or false, not 1"),
    ("    critical: true\n", "    critical: yes\n", "criteria[0].critical",
     "'yes' is read as true by some YAML readers and as text by others: write true or false, "
     "or quote it (\"yes\") if you mean the text"),
    ("version: 1\n", 'version: "1"\n', "version", "Input should be a valid integer"),
    ("    name: Veiligheid & acuut risico\n", '    name: "  "\n', "criteria[0].name",
     "String should have at least 1 character"),
])
def test_sloppy_rubric_values(tmp_path: Path, old: str, new: str, field: str,
                              message: str) -> None:
    assert RUBRIC2.count(old) >= 1
    text = RUBRIC2.replace(old, new, 1)
    line = text.splitlines().index(new.rstrip("\n")) + 1
    assert problems_for(tmp_path, "r.yaml", text) == [f"{tmp_path}/lib/r.yaml:{line}: {field}: "
                                                      f"{message}"]


def test_a_rubric_whose_1_to_5_weights_are_all_zero(tmp_path: Path) -> None:
    text = re.sub(r"(?m)^    weight: [0-9.]+$", "    weight: 0", RUBRIC2)
    line = text.splitlines().index("criteria:") + 1
    assert problems_for(tmp_path, "r.yaml", text) == [
        f"{tmp_path}/lib/r.yaml:{line}: criteria: at least one 1–5 criterion needs a weight above "
        "0; otherwise no reply ever gets an overall score"]


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("risk_level: acute\n", "risk_level: 3\n", "risk_level", "Input should be 'low', "),
    ("  age: 31\n", '  age: "31"\n', "persona.age", "Input should be a valid integer"),
    ("  age: 31\n", "  age: 31.5\n", "persona.age", "Input should be a valid integer"),
    ("  name: Samira (fictief)\n", '  name: ""\n', "persona.name",
     "String should have at least 1 character"),
    ("  - Verwurging\n", '  - " "\n', "content_warnings[1]",
     "String should have at least 1 character"),
])
def test_sloppy_scenario_values(tmp_path: Path, old: str, new: str, field: str,
                                message: str) -> None:
    text = SCENARIO.replace(old, new)
    line = text.splitlines().index(new.rstrip("\n")) + 1
    got = problems_for(tmp_path, "s.yaml", text)
    assert len(got) == 1 and got[0].startswith(f"{tmp_path}/lib/s.yaml:{line}: {field}: {message}")


def test_scenario_without_scripted_turns(tmp_path: Path) -> None:
    text = SCENARIO[:SCENARIO.index("scripted_turns:")] + "scripted_turns: []\n" \
        + SCENARIO[SCENARIO.index("\nexpectations:") + 1:]
    line = text.splitlines().index("scripted_turns: []") + 1
    assert problems_for(tmp_path, "s.yaml", text) == [
        f"{tmp_path}/lib/s.yaml:{line}: scripted_turns: List should have at least 1 item after "
        "validation, not 0"]
