"""`run` and `start` refuse a library with problems; with --skip-invalid they name every file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli import app

ROOT = Path(__file__).resolve().parent.parent
KEEP = ("acuut-verwurging-partner.yaml", "oudere-man-zoon-neemt-spaargeld.yaml")


@pytest.fixture
def broken_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings) -> Path:
    """Two good scenarios, one with a bad risk level, one naming a missing rubric, a README."""
    from workbench.config import get_settings

    scen = tmp_path / "scenarios"
    scen.mkdir()
    for name in KEEP:
        shutil.copy(ROOT / "scenarios" / name, scen / name)
    text = (ROOT / "scenarios" / KEEP[0]).read_text()
    (scen / "kapot.yaml").write_text(text.replace("id: acuut-verwurging-partner", "id: kapot")
                                     .replace("risk_level: acute", "risk_level: extreme"))
    (scen / "Wees.YML").write_text(text.replace("id: acuut-verwurging-partner", "id: wees")
                                   .replace("rubric: expert", "rubric: bestaat-niet"))
    (scen / "README.md").write_text("# scenario's\n")
    monkeypatch.setenv("WORKBENCH_SCENARIOS_DIR", str(scen))
    get_settings.cache_clear()
    return scen


def test_run_refuses_a_library_with_problems(broken_library: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--bot", "reference"])
    assert result.exit_code == 1
    err = result.stderr.splitlines()
    assert f"{broken_library}/README.md: note: ignored (not a .yaml or .yml file)" in err
    assert any(line.startswith(f"{broken_library}/kapot.yaml:") for line in err)
    assert any(line.startswith(f"{broken_library}/Wees.YML:") for line in err)
    assert err[-1].startswith("error: the library has 2 problem(s) in 2 file(s)")


def test_run_with_skip_invalid_names_every_skipped_file_and_plays_the_rest(
        broken_library: Path, tmp_path: Path) -> None:
    prompt = tmp_path / "p.txt"
    prompt.write_text("Je bent behulpzaam.")
    runner = CliRunner()
    added = runner.invoke(app, ["bot", "add", "ref", "--kind", "reference",
                                "--prompt-file", str(prompt)])
    assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["run", "--bot", "ref", "--skip-invalid"])
    assert result.exit_code == 0, result.output
    err = result.stderr.splitlines()
    assert f"skipped: {broken_library}/Wees.YML" in err
    assert f"skipped: {broken_library}/kapot.yaml" in err
    assert "2/2 conversations finished" in result.stderr


def test_start_refuses_before_touching_the_database(broken_library: Path, settings,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    launched: list[object] = []
    monkeypatch.setattr("workbench.cli.start.run_app_with_worker",
                        lambda *a, **k: launched.append(a))
    result = CliRunner().invoke(app, ["start", "--no-demo"])
    assert result.exit_code == 1 and launched == []
    assert not (settings.data_dir / "workbench.db").exists()


def test_start_with_skip_invalid_names_the_files_and_starts(
        broken_library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workbench.cli.start.run_app_with_worker", lambda *a, **k: 0)
    result = CliRunner().invoke(app, ["start", "--no-demo", "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert f"skipped: {broken_library}/kapot.yaml" in result.stderr.splitlines()


def test_validate_names_ignored_files(broken_library: Path) -> None:
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 1
    assert f"{broken_library}/README.md: note: ignored (not a .yaml or .yml file)" \
        in result.stderr.splitlines()
    assert result.stdout.splitlines()[0].startswith(f"{broken_library}/")
