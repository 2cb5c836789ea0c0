"""The scenario and rubric library: load YAML files, validate them, report `path:line: field`.

A file with a problem contributes nothing: its scenario or rubric is left out, and so is every
scenario that names a rubric that could not be loaded. `Library.skipped` lists those files, so a
run or the app can refuse to start on a half-usable library instead of silently playing the rest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from workbench.domain.enums import Audience
from workbench.domain.rubrics import Rubric
from workbench.domain.scenarios import Scenario, content_hash
from workbench.domain.yamlsource import (
    MAX_FILE_BYTES,
    Problem,
    YamlDoc,
    YamlError,
    dotted,
    load_yaml,
    too_large,
)

# Compared lower-cased: `X.YAML` from a Windows editor is as much a library file as `x.yaml`.
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
    """What loaded cleanly, and what did not: every problem's file is left out entirely."""

    scenarios: dict[str, LoadedScenario] = field(default_factory=dict)
    rubrics: dict[tuple[str, int], LoadedRubric] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Files found in the library folders that are not YAML, so not read (a README is fine there;
    # naming them keeps `verwurging.yaml.txt` from being missed).
    ignored: list[str] = field(default_factory=list)
    # Rubric ids whose file has problems, with that file: a scenario naming one says why.
    broken_rubrics: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def skipped(self) -> list[str]:
        """Every file that is not used because it has a problem, in the order found."""
        return list(self.problems_by_file())

    def problems_by_file(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = {}
        for p in self.problems:
            out.setdefault(p.path, []).append(p)
        return out

    @property
    def notes(self) -> list[str]:
        """One line per ignored file: worth seeing, but no reason to refuse a run."""
        return [f"{path}: note: ignored ("
                + ("a hidden or linked folder is not searched" if Path(path).is_dir()
                   else "not a .yaml or .yml file") + ")" for path in self.ignored]

    def rubric(self, rubric_id: str, version: int | None = None) -> LoadedRubric | None:
        """A rubric by id: the given version, or the newest when none is given."""
        versions = sorted(v for (rid, v) in self.rubrics if rid == rubric_id)
        if not versions:
            return None
        return self.rubrics.get((rubric_id, version if version is not None else versions[-1]))


def _message(err: ErrorDetails) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the schema; a typo?)"
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "bool_type":
        return f"must be true or false, not {_shown(err['input'])}"
    if err["type"] == "finite_number":
        return f"must be a finite number, not {_shown(err['input'])}"
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


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def is_yaml_name(path: Path) -> bool:
    return path.suffix.lower() in YAML_SUFFIXES


def library_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(YAML files to load, other entries found) under `paths`.

    A file given by name is loaded whatever its suffix: it was asked for. Hidden folders
    (`.git`) and linked folders are not searched (a link may loop); each is one ignored entry.
    """
    files: list[Path] = []
    others: list[Path] = []
    for p in paths:
        if not p.is_dir():
            files.append(p)
            continue
        found: list[Path] = []
        for root, dirs, names in os.walk(p):
            skip = [d for d in dirs if d.startswith(".") or Path(root, d).is_symlink()]
            others.extend(Path(root, d) for d in skip)
            dirs[:] = [d for d in dirs if d not in skip]
            found.extend(Path(root, n) for n in names)
        for f in sorted(found):
            (files if is_yaml_name(f) else others).append(f)
    return files, others


def iter_yaml_files(paths: Iterable[Path]) -> list[Path]:
    return library_files(paths)[0]


def load_library(paths: Iterable[Path], *, reference_rubrics: Iterable[Path] = ()) -> Library:
    """Load and check every YAML file under `paths`.

    `reference_rubrics` are extra rubric folders used only to resolve the rubric a scenario names
    (so `validate scenarios/` still knows the shipped rubrics); their problems are reported too.
    """
    lib = Library()
    files, others = library_files(paths)
    lib.ignored = [str(f) for f in others]
    extra = [f for f in iter_yaml_files(reference_rubrics) if f.resolve() not in
             {x.resolve() for x in files}]
    for path in [*files, *extra]:
        _load_one(path, lib)
    _check_references(lib)
    return lib


def _read_text(path: Path) -> str | Problem:
    """The file's text, read no further than the size bound, or why it cannot be read."""
    name = str(path)
    if not path.exists():
        return Problem(name, 1, "", "no such file")
    if not path.is_file():  # a FIFO would block the read forever, a folder cannot be read
        return Problem(name, 1, "", "not a regular file")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
            size = max(len(raw), path.stat().st_size)
    except OSError as exc:
        return Problem(name, 1, "", f"cannot be read: {exc.strerror or exc}")
    if len(raw) > MAX_FILE_BYTES:
        return too_large(name, size)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return Problem(name, line, "", f"not a UTF-8 text file (byte 0x{raw[exc.start]:02x} "
                                       "cannot be read as UTF-8; save the file as UTF-8)")


def _load_one(path: Path, lib: Library) -> None:
    name = str(path)
    text = _read_text(path)
    if isinstance(text, Problem):
        lib.problems.append(text)
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
    is_rubric = _is_rubric(path, doc.data)
    try:
        if is_rubric:
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
        rubric_id = doc.data.get("id")
        if is_rubric and isinstance(rubric_id, str):
            lib.broken_rubrics.setdefault(rubric_id, name)


def _check_references(lib: Library) -> None:
    """Report dangling or wrong rubric references, and leave those scenarios out."""
    unusable: list[str] = []
    for sid, item in lib.scenarios.items():
        rubric_line, panel_line = item.rubric_line, item.panel_rubric_line
        sc = item.scenario
        found: list[Problem] = []
        rubric = lib.rubric(sc.rubric)
        if rubric is None:
            found.append(Problem(item.path, rubric_line, "rubric", _missing(lib, sc.rubric)))
        elif rubric.rubric.audience != Audience.expert:
            found.append(Problem(item.path, rubric_line, "rubric",
                                 f"rubric '{sc.rubric}' is not for experts"))
        if sc.panel_rubric is not None:
            panel = lib.rubric(sc.panel_rubric)
            line = panel_line or rubric_line
            if panel is None:
                found.append(Problem(item.path, line, "panel_rubric",
                                     _missing(lib, sc.panel_rubric)))
            elif panel.rubric.audience != Audience.lived_experience:
                found.append(Problem(item.path, line, "panel_rubric",
                    f"rubric '{sc.panel_rubric}' is not for the lived-experience panel"))
        if found:
            lib.problems.extend(found)
            unusable.append(sid)
    for sid in unusable:
        del lib.scenarios[sid]


def _missing(lib: Library, rubric_id: str) -> str:
    broken = lib.broken_rubrics.get(rubric_id)
    if broken is not None:
        return f"rubric '{rubric_id}' has problems in {broken}, so this scenario cannot be used"
    return f"no rubric with id '{rubric_id}'"
