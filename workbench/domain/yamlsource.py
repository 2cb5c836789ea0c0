"""Load YAML while remembering the line of every node, so errors can name `path:line: field`.

Library files are written by hand and may be hostile, so this reader builds plain data straight
from the parser's events, with no recursion and nothing shared: aliases, anchors, tags other than
`!!str`, merge keys, second documents and YAML 1.1 readings that other readers disagree on are
refused as located problems, and size, depth and the number of values are bounded. Every input
ends in data or in `YamlError` within a fraction of a second; nothing is ever expanded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[Any, ...]

# The largest shipped file is about 5 KB; these bounds are far above any real library file and
# far below what would take a second to read (libyaml reads ~1M events per second).
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_VALUES = 10_000
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; a library file needs about five"

_TAG_PREFIX = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (f"{_TAG_PREFIX}{t}" for t in ("str", "null", "bool", "int",
                                                                  "float"))
_TRUE_FALSE = {"true": True, "True": True, "TRUE": True,
               "false": False, "False": False, "FALSE": False}
# Numbers every YAML reader agrees on. YAML 1.1 (PyYAML) also reads 012 as octal, 1_000, 0b11
# and 1:30 (base 60, = 90); YAML 1.2 readers read those as text or differently.
_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*|0x[0-9a-fA-F]+)")
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE

# libyaml's parser is ~20x faster than PyYAML's; the events are the same. None when PyYAML was
# built without libyaml.
try:
    from yaml import cyaml as _cyaml

    _CParser: Any = getattr(_cyaml, "CParser", None)
except ImportError:  # pragma: no cover
    _CParser = None


@dataclass
class Problem:
    """One thing wrong with a library file, rendered as `path:line: field: message`."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field or '(file)'}: {self.message}"


@dataclass
class YamlDoc:
    """Plain data plus a map from key path to the line it was written on."""

    path: str
    text: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, loc: Path) -> int:
        """The line of `loc`, or of its nearest written ancestor (a missing field → its parent)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


class YamlError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def dotted(loc: Path) -> str:
    """`("criteria", 2, "anchors")` → `criteria[2].anchors`."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def too_large(path: str, size: int, max_bytes: int = MAX_FILE_BYTES) -> Problem:
    """The problem of a file over the size bound, with both numbers for the author."""
    return Problem(path, 1, "", f"file is {size:,} bytes; a library file may be at most "
                                f"{max_bytes:,} bytes")


def load_yaml(text: str, *, path: str, max_bytes: int = MAX_FILE_BYTES) -> YamlDoc:
    """Parse one YAML document; raise YamlError with located problems on anything malformed."""
    pre = _precheck(text, path, max_bytes)
    if pre:
        raise YamlError([pre])
    doc = YamlDoc(path=path, text=text, data=None)
    builder = _Builder(doc)
    parser = _CParser(text) if _CParser is not None else yaml.SafeLoader(text)
    try:
        builder.read_stream(parser)
    except _Stop:
        pass  # the problem that stopped reading is already recorded
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = f"not valid YAML: {exc.problem or exc}"
        # libyaml scans up to 1024 characters ahead and may hit its own depth limit (1000)
        # before the builder sees depth 64; both mean the same to the author.
        if "maximum nesting depth" in str(exc.problem):
            reason = _TOO_DEEP
        builder.problems.append(Problem(path, line, "", reason))
    except yaml.YAMLError as exc:
        builder.problems.append(Problem(path, 1, "", f"not valid YAML: {exc}"))
    finally:
        parser.dispose()
    if builder.problems:
        raise YamlError(builder.problems)
    return doc


def _precheck(text: str, path: str, max_bytes: int) -> Problem | None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return too_large(path, size, max_bytes)
    # Checked here rather than left to the parser: its error gives a position, not a line.
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        char = bad.group()
        name = " (NUL)" if char == "\0" else ""
        return Problem(path, text.count("\n", 0, bad.start()) + 1, "",
                       f"contains the character U+{ord(char):04X}{name}, which YAML does not "
                       "allow; is this a binary file?")
    return None


class _Stop(Exception):
    """Reading cannot usefully go on (an alias, too deep, too many values, a second document)."""


class _Refused:
    """A refused value or key: the file fails, so it only keeps its place (and its text)."""

    def __init__(self, text: str = "?") -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


_NO_KEY = object()


@dataclass
class _Frame:
    container: dict[Any, Any] | list[Any]
    loc: Path
    line: int
    key: Any = _NO_KEY  # in a mapping: the key read, waiting for its value


class _Builder:
    """Turns parser events into plain data and `doc.lines`, recording problems as it goes."""

    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.values = 0
        self.anchor: tuple[str, int, Path] | None = None  # the first anchor, to refuse it

    def problem(self, line: int, loc: Path, message: str) -> None:
        self.problems.append(Problem(self.doc.path, line, dotted(loc), message))

    def read_stream(self, parser: Any) -> None:
        parser.get_event()  # stream start
        if parser.check_event(yaml.StreamEndEvent):
            self.problems.append(Problem(self.doc.path, 1, "", "file is empty"))
            return
        parser.get_event()  # document start
        self.doc.data = self.read_node(parser)
        parser.get_event()  # document end
        if not parser.check_event(yaml.StreamEndEvent):
            line = parser.peek_event().start_mark.line + 1
            self.problems.append(Problem(self.doc.path, line, "",
                "a second YAML document starts here; a library file holds exactly one "
                "(one scenario or rubric per file)"))
            return
        if self.anchor is not None:
            name, line, loc = self.anchor
            self.problem(line, loc, f"anchor '&{name}' is not allowed in library files "
                                    "(aliases are refused, so it has no use); remove it")

    def read_node(self, parser: Any) -> Any:
        """Read one whole node; collections are walked with an explicit stack, not recursion."""
        stack: list[_Frame] = []
        while True:
            event = parser.get_event()
            if isinstance(event, yaml.CollectionEndEvent):
                frame = stack.pop()
                value: Any = frame.container
                line = frame.line
            else:
                line = event.start_mark.line + 1
                value = self.start(event, line, stack)
                if isinstance(value, _Frame):
                    stack.append(value)
                    continue
            if not stack:
                return value
            self.attach(stack[-1], value, line)

    def start(self, event: Any, line: int, stack: list[_Frame]) -> Any:
        """A scalar's value, or a new frame for a collection; refusals are recorded here."""
        parent = stack[-1] if stack else None
        is_key = parent is not None and isinstance(parent.container, dict) \
            and parent.key is _NO_KEY
        if parent is None:
            loc: Path = ()
        elif isinstance(parent.container, list):
            loc = (*parent.loc, len(parent.container))
        elif is_key:  # a key's own problems are reported under the key as written
            loc = (*parent.loc, getattr(event, "value", "?"))
        else:
            loc = (*parent.loc, parent.key)
        if isinstance(event, yaml.AliasEvent):
            where = f" (anchor '&{event.anchor}' on line {self.anchor[1]})" \
                if self.anchor and self.anchor[0] == event.anchor else ""
            self.problem(line, loc, f"alias '*{event.anchor}'{where}: aliases are not allowed "
                                    "in library files; write the value out in full")
            raise _Stop
        self.values += 1
        if self.values > MAX_VALUES:
            self.problem(line, loc, f"more than {MAX_VALUES:,} values in one file; a scenario "
                                    "or rubric needs a few hundred")
            raise _Stop
        if event.anchor is not None and self.anchor is None:
            self.anchor = (event.anchor, line, loc)
        if not is_key:
            self.doc.lines.setdefault(loc, line)
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event, line, loc)
        if is_key:
            self.problem(line, loc, "a key must be plain text, not a list or mapping")
        if len(stack) >= MAX_DEPTH:
            # No field: the path would be 64 parts long, and libyaml (which may meet its own
            # limit first) gives none either.
            self.problem(line, (), _TOO_DEEP)
            raise _Stop
        mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", f"{_TAG_PREFIX}{'map' if mapping else 'seq'}"):
            self.refuse_tag(event.tag, line, loc)
        return _Frame({} if mapping else [], loc, line)

    def attach(self, frame: _Frame, value: Any, line: int) -> None:
        if isinstance(frame.container, list):
            frame.container.append(value)
        elif frame.key is _NO_KEY:
            frame.key = self.key(frame, value, line)
        else:
            if not isinstance(frame.key, _Refused):
                frame.container[frame.key] = value
            frame.key = _NO_KEY

    def key(self, frame: _Frame, key: Any, line: int) -> Any:
        if isinstance(key, _Refused):
            return key  # already reported where it was read
        if isinstance(key, (dict, list)):
            return _Refused()
        key = key if isinstance(key, (int, bool)) else str(key)
        sub = (*frame.loc, key)
        if key in frame.container:
            self.problem(line, sub, "duplicate key")
            return _Refused(str(key))
        self.doc.lines[sub] = line
        return key

    def scalar(self, event: Any, line: int, loc: Path) -> Any:
        tag = event.tag
        if tag not in (None, "!", _STR):
            self.refuse_tag(tag, line, loc)
            return _Refused(event.value)
        value: str = event.value
        if tag is not None:
            return value
        resolved = self.resolver.resolve(yaml.ScalarNode, value, event.implicit)
        if resolved == _STR:
            return value
        if resolved == _NULL:
            return None
        if resolved == _BOOL and value in _TRUE_FALSE:
            return _TRUE_FALSE[value]
        if resolved == _INT and _PLAIN_INT.fullmatch(value) \
                or resolved == _FLOAT and not any(c in value for c in "_:"):
            try:
                return self.constructor.construct_object(yaml.ScalarNode(resolved, value))
            except ValueError:  # more digits than Python converts (4300)
                self.problem(line, loc, f"the number '{value[:20]}…' is too long")
                return _Refused(value)
        self.problem(line, loc, _ambiguous(value, resolved))
        return _Refused(value)

    def refuse_tag(self, tag: str, line: int, loc: Path) -> None:
        shown = tag.replace(_TAG_PREFIX, "!!")
        self.problem(line, loc, f"the tag '{shown}' is not allowed in library files (only "
                                "plain text, numbers, true/false, lists and mappings; quote "
                                "text or use !!str)")


def _ambiguous(value: str, tag: str) -> str:
    """Why a plain scalar is refused: YAML readers would disagree on what it means."""
    kind = tag.removeprefix(_TAG_PREFIX)
    if kind == "bool":
        return (f"'{value}' is read as {str(value.lower() in ('yes', 'on', 'y')).lower()} by "
                "some YAML readers and as text by others: write true or false, or quote it "
                f"(\"{value}\") if you mean the text")
    if kind == "timestamp":
        return (f"'{value}' would be read as a date; no library field holds a date: quote it "
                f"(\"{value}\")")
    if kind == "merge":
        return "merge keys (<<) are not allowed in library files; write the keys out in full"
    if kind in ("int", "float"):
        return (f"'{value}' is a number in an old YAML notation (octal, binary, base 60 or with "
                "'_') that YAML readers disagree on: write a plain decimal number, or quote "
                "it if you mean the text")
    return f"'{value}' has a special meaning in YAML 1.1 ({kind}): quote it if you mean the text"
