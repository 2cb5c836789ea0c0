"""The scenario and rubric library: load YAML files, validate them, report `path:line: field`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from workbench.domain.enums import Audience
from workbench.domain.rubrics import Rubric
from workbench.domain.scenarios import Scenario, content_hash
from workbench.domain.yamlsource import Problem, YamlDoc, YamlError, dotted, load_yaml

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Loaded:
    """A validated library item with the exact text it came from (snapshots record both)."""

    path: str
    text: str
    sha256: str


@dataclass(frozen=True)
class LoadedScenario(Loaded):
    scenario: Scenario
    # Lines of the rubric references, so a dangling reference is reported where it is written.
    rubric_line: int = 1
    panel_rubric_line: int | None = None


@dataclass(frozen=True)
class LoadedRubric(Loaded):
    rubric: Rubric


@dataclass
class Library:
    scenarios: dict[str, LoadedScenario] = field(default_factory=dict)
    rubrics: dict[tuple[str, int], LoadedRubric] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def rubric(self, rubric_id: str, version: int | None = None) -> LoadedRubric | None:
        """A rubric by id: the given version, or the newest when none is given."""
        versions = sorted(v for (rid, v) in self.rubrics if rid == rubric_id)
        if not versions:
            return None
        return self.rubrics.get((rubric_id, version if version is not None else versions[-1]))


def _message(err: dict) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the schema; a typo?)"
    if err["type"] == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _problems_from(exc: ValidationError, doc: YamlDoc) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        out.append(Problem(doc.path, doc.line_of(loc), dotted(loc), _message(err)))
    return out


def _is_rubric(path: Path, data: object) -> bool:
    if isinstance(data, dict) and "criteria" in data:
        return True
    return "rubrics" in path.parts and not (isinstance(data, dict) and "scripted_turns" in data)


def iter_yaml_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in YAML_SUFFIXES))
        else:
            files.append(p)
    return files


def load_library(paths: Iterable[Path], *, reference_rubrics: Iterable[Path] = ()) -> Library:
    """Load and check every YAML file under `paths`.

    `reference_rubrics` are extra rubric folders used only to resolve the rubric a scenario names
    (so `validate scenarios/` still knows the shipped rubrics); their problems are reported too.
    """
    lib = Library()
    files = iter_yaml_files(paths)
    extra = [f for f in iter_yaml_files(reference_rubrics) if f.resolve() not in
             {x.resolve() for x in files}]
    for path in [*files, *extra]:
        _load_one(path, lib)
    _check_references(lib)
    return lib


def _load_one(path: Path, lib: Library) -> None:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        lib.problems.append(Problem(name, 1, "", "no such file"))
        return
    except UnicodeDecodeError:
        lib.problems.append(Problem(name, 1, "", "not a UTF-8 text file"))
        return
    try:
        doc = load_yaml(text, path=name)
    except YamlError as exc:
        lib.problems.extend(exc.problems)
        return
    if not isinstance(doc.data, dict):
        lib.problems.append(
            Problem(name, 1, "", "expected a mapping of fields (key: value) at the top level")
        )
        return
    sha = content_hash(text)
    try:
        if _is_rubric(path, doc.data):
            rubric = Rubric.model_validate(doc.data)
            key = (rubric.id, rubric.version)
            if key in lib.rubrics:
                lib.problems.append(Problem(name, doc.line_of(("id",)), "id",
                    f"rubric '{rubric.id}' version {rubric.version} is also defined in "
                    f"{lib.rubrics[key].path}"))
                return
            lib.rubrics[key] = LoadedRubric(name, text, sha, rubric)
        else:
            scenario = Scenario.model_validate(doc.data)
            if scenario.id in lib.scenarios:
                lib.problems.append(Problem(name, doc.line_of(("id",)), "id",
                    f"scenario id '{scenario.id}' is also used by "
                    f"{lib.scenarios[scenario.id].path}"))
                return
            lib.scenarios[scenario.id] = LoadedScenario(
                name, text, sha, scenario,
                rubric_line=doc.line_of(("rubric",)),
                panel_rubric_line=doc.lines.get(("panel_rubric",)),
            )
    except ValidationError as exc:
        lib.problems.extend(_problems_from(exc, doc))


def _check_references(lib: Library) -> None:
    for item in lib.scenarios.values():
        rubric_line, panel_line = item.rubric_line, item.panel_rubric_line
        sc = item.scenario
        found = lib.rubric(sc.rubric)
        if found is None:
            lib.problems.append(Problem(item.path, rubric_line, "rubric",
                                        f"no rubric with id '{sc.rubric}'"))
        elif found.rubric.audience != Audience.expert:
            lib.problems.append(Problem(item.path, rubric_line, "rubric",
                                        f"rubric '{sc.rubric}' is not for experts"))
        if sc.panel_rubric is not None:
            panel = lib.rubric(sc.panel_rubric)
            line = panel_line or rubric_line
            if panel is None:
                lib.problems.append(Problem(item.path, line, "panel_rubric",
                                            f"no rubric with id '{sc.panel_rubric}'"))
            elif panel.rubric.audience != Audience.lived_experience:
                lib.problems.append(Problem(item.path, line, "panel_rubric",
                    f"rubric '{sc.panel_rubric}' is not for the lived-experience panel"))
