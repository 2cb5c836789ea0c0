"""Hostile library files: each is refused as `path:line:` within a second; never a crash or hang.

Every case runs with libyaml's parser and with PyYAML's pure-Python one (the fallback when
PyYAML was built without libyaml). The bomb runs in a child process with a timeout, so that a
reader which expands aliases fails this test instead of hanging the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from workbench.domain import yamlsource
from workbench.domain.library import load_library
from workbench.domain.yamlsource import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, YamlError, load_yaml

ROOT = Path(__file__).resolve().parent.parent
FAST_S = 1.0  # every case below takes a few milliseconds; a second leaves room for a busy CI box
# PyYAML's own scanner looks up to 1024 characters ahead at every `[` (~0.25 s for deep flow
# nesting when idle); the fallback gets twice the time so a loaded machine does not flake.
FALLBACK_S = 2.0

# The classic "billion laughs": 9 levels of 9 aliases, 9^9 = 387 million "lol"s as a tree.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
ALIAS = "alias '*a' (anchor '&a' on line {n}): aliases are not allowed in library files; " \
        "write the value out in full"
TAG = "the tag '{tag}' is not allowed in library files (only plain text, numbers, true/false, " \
      "lists and mappings; quote text or use !!str)"
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; a library file needs about five"


@pytest.fixture(params=["libyaml", "python"], autouse=True)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(yamlsource, "_CParser", None)
    elif yamlsource._CParser is None:
        pytest.skip("PyYAML built without libyaml")
    return str(request.param)


def problems(tmp_path: Path, content: str | bytes, name: str = "s.yaml") -> tuple[list[str], str]:
    """The rendered problems of one library file, asserting they came within FAST_S."""
    folder = tmp_path / "lib"
    folder.mkdir(exist_ok=True)
    f = folder / name
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content, encoding="utf-8")
    start = time.perf_counter()
    lib = load_library([folder])
    elapsed = time.perf_counter() - start
    assert elapsed < (FAST_S if yamlsource._CParser is not None else FALLBACK_S), \
        f"took {elapsed:.2f} s"
    assert not lib.scenarios and not lib.rubrics
    return [str(p) for p in lib.problems], str(f)


def test_billion_laughs_is_refused_at_the_first_alias(tmp_path: Path, parser: str) -> None:
    f = tmp_path / "bomb.yaml"
    f.write_text(BOMB)
    assert len(BOMB) < 500
    code = (
        "import json, sys, time\n"
        f"from workbench.domain import yamlsource\n"
        f"if {parser == 'python'}: yamlsource._CParser = None\n"
        "from pathlib import Path\n"
        "from workbench.domain.library import load_library\n"
        "t = time.perf_counter()\n"
        "lib = load_library([Path(sys.argv[1])])\n"
        "print(json.dumps([time.perf_counter() - t, [str(p) for p in lib.problems]]))\n")
    out = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True,
                         timeout=20, check=True)
    elapsed, got = json.loads(out.stdout)
    assert got == [f"{f}:2: b[0]: {ALIAS.format(n=1)}"]
    assert elapsed < 0.1, f"took {elapsed:.3f} s"


def test_cli_validate_refuses_the_bomb_and_exits_1(tmp_path: Path, parser: str) -> None:
    if parser == "python":
        pytest.skip("the CLI child process always uses libyaml when it is there")
    f = tmp_path / "bomb.yaml"
    f.write_text(BOMB)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "workbench", "validate", str(f)],
                         capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines() == [f"{f}:2: b[0]: {ALIAS.format(n=1)}"]
    assert time.perf_counter() - start < 15  # mostly interpreter start-up and imports


def test_recursive_alias(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\nloop: &a [1, *a]\n")
    assert got == [f"{f}:2: loop[1]: {ALIAS.format(n=2)}"]


def test_undefined_alias(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\ntitle: *nowhere\n")
    assert got == [f"{f}:2: title: alias '*nowhere': aliases are not allowed in library files; "
                   "write the value out in full"]


def test_an_unused_anchor_is_refused_too(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\ntitle: &t Een titel\n")
    assert got == [f"{f}:2: title: anchor '&t' is not allowed in library files (aliases are "
                   "refused, so it has no use); remove it"]


def test_deep_flow_nesting(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\nv: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert got == [f"{f}:2: (file): {TOO_DEEP}"]


def test_deep_block_nesting(tmp_path: Path) -> None:
    # Collection n starts on line n, so the first one too deep is on line MAX_DEPTH + 1.
    text = "".join("  " * i + "a:\n" for i in range(200)) + "  " * 200 + "b: 1\n"
    got, f = problems(tmp_path, text)
    assert got == [f"{f}:{MAX_DEPTH + 1}: (file): {TOO_DEEP}"]


@pytest.mark.parametrize(("value", "tag"), [
    ("!custom 3", "!custom"),
    ("!!python/object/apply:os.system [ls]", "!!python/object/apply:os.system"),
    ('!!binary "dit is geen base64!"', "!!binary"),
    ("!!binary aGFsbG8=", "!!binary"),  # valid base64 too: no field holds bytes
    ("!!timestamp gisteren", "!!timestamp"),
    ("!!timestamp 2024-13-45", "!!timestamp"),
    ("!!set {a, b}", "!!set"),
    ("!!int drie", "!!int"),
])
def test_tags_are_refused(tmp_path: Path, value: str, tag: str) -> None:
    got, f = problems(tmp_path, f"id: x\ntitle: {value}\n")
    assert got == [f"{f}:2: title: {TAG.format(tag=tag)}"]


def test_str_tag_is_allowed() -> None:
    assert load_yaml("title: !!str 2024\n", path="x").data == {"title": "2024"}


def test_a_plain_value_that_would_be_an_impossible_date(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\ntitle: 2024-13-45\n")
    assert got == [f"{f}:2: title: '2024-13-45' would be read as a date; no library field "
                   "holds a date: quote it (\"2024-13-45\")"]


def test_merge_key(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\npersona:\n  <<: {name: Samira}\n  age: 31\n")
    assert got == [f"{f}:3: persona.<<: merge keys (<<) are not allowed in library files; "
                   "write the keys out in full"]


def test_merge_key_with_an_alias(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "base: &a {name: Samira}\npersona:\n  <<: *a\n")
    assert got[-1] == f"{f}:3: persona.<<: {ALIAS.format(n=1)}"


@pytest.mark.parametrize(("value", "reading"), [("yes", "true"), ("Off", "false")])
def test_yaml_1_1_booleans_are_refused(tmp_path: Path, value: str, reading: str) -> None:
    got, f = problems(tmp_path, f"id: x\ncritical: {value}\n")
    assert got == [f"{f}:2: critical: '{value}' is read as {reading} by some YAML readers and as "
                   f"text by others: write true or false, or quote it (\"{value}\") if you mean "
                   "the text"]


@pytest.mark.parametrize("value", ["1:30", "012", "0b101", "1_000", "1_0.5"])
def test_yaml_1_1_numbers_are_refused(tmp_path: Path, value: str) -> None:
    got, f = problems(tmp_path, f"id: x\nweight: {value}\n")
    assert got == [f"{f}:2: weight: '{value}' is a number in an old YAML notation (octal, "
                   "binary, base 60 or with '_') that YAML readers disagree on: write a plain "
                   "decimal number, or quote it if you mean the text"]


def test_plain_equals_sign(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\ntitle: =\n")
    assert got == [f"{f}:2: title: '=' has a special meaning in YAML 1.1 (value): quote it if "
                   "you mean the text"]


def test_a_number_too_long_to_convert(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\nweight: " + "9" * 5000 + "\n")
    assert got == [f"{f}:2: weight: the number '{'9' * 20}…' is too long"]


def test_a_list_as_a_key(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\n? [a, b]\n: c\n")
    assert got == [f"{f}:2: ?: a key must be plain text, not a list or mapping"]


def test_a_second_document(tmp_path: Path) -> None:
    got, f = problems(tmp_path, "id: x\n---\nid: y\n")
    assert got == [f"{f}:2: (file): a second YAML document starts here; a library file holds "
                   "exactly one (one scenario or rubric per file)"]


def test_too_many_values(tmp_path: Path) -> None:
    # Values are counted as read: the mapping, the key, the list, then the items.
    got, f = problems(tmp_path, "k: [" + "a, " * MAX_VALUES + "]\n")
    assert got == [f"{f}:1: k[{MAX_VALUES - 3}]: more than {MAX_VALUES:,} values in one file; "
                   "a scenario or rubric needs a few hundred"]


def test_text_over_the_size_bound() -> None:
    with pytest.raises(YamlError) as info:
        load_yaml("#" * (MAX_FILE_BYTES + 1), path="big.yaml")
    assert [str(p) for p in info.value.problems] == [
        f"big.yaml:1: (file): file is {MAX_FILE_BYTES + 1:,} bytes; a library file may be at "
        f"most {MAX_FILE_BYTES:,} bytes"]


@pytest.mark.parametrize(("char", "name"), [("\0", "U+0000 (NUL)"), ("\x1b", "U+001B")])
def test_control_characters(tmp_path: Path, char: str, name: str) -> None:
    got, f = problems(tmp_path, f"id: x\ntitle: a\nrubric: b{char}c\n")
    assert got == [f"{f}:3: (file): contains the character {name}, which YAML does not allow; "
                   "is this a binary file?"]


@pytest.mark.parametrize(("text", "message"), [
    ("", "file is empty"),
    ("# alleen commentaar\n", "file is empty"),
    ("- a\n- b\n", "expected a mapping of fields (key: value) at the top level"),
    ("gewoon een zin\n", "expected a mapping of fields (key: value) at the top level"),
])
def test_empty_or_not_a_mapping(tmp_path: Path, text: str, message: str) -> None:
    got, f = problems(tmp_path, text)
    assert got == [f"{f}:1: (file): {message}"]


SHIPPED = sorted([*ROOT.glob("scenarios/*.yaml"), *ROOT.glob("rubrics/*.yaml"),
                  *ROOT.glob("workbench/i18n/*.yaml"), ROOT / "workbench" / "readiness.yaml"])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_files_read_as_pyyaml_reads_them(path: Path) -> None:
    # Snapshots and the dashboard re-read stored library text with yaml.safe_load; an accepted
    # file must mean the same to both readers.
    text = path.read_text(encoding="utf-8")
    assert load_yaml(text, path=str(path)).data == yaml.safe_load(text)
