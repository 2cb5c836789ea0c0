"""Load YAML while remembering the line of every node, so errors can name `path:line: field`.

PyYAML's composer gives us nodes with start marks; we build plain Python data from them ourselves
so that duplicate keys are caught (PyYAML silently keeps the last one) and every key path maps to
the 1-based line where it was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


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
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_yaml(text: str, *, path: str) -> YamlDoc:
    """Parse one YAML document; raise YamlError with located problems on anything malformed."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or str(exc)
        raise YamlError([Problem(path, line, "", f"not valid YAML: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise YamlError([Problem(path, 1, "", f"not valid YAML: {exc}")]) from None
    if node is None:
        raise YamlError([Problem(path, 1, "", "file is empty")])
    doc = YamlDoc(path=path, text=text, data=None)
    problems: list[Problem] = []
    doc.data = _build(node, (), doc, problems)
    if problems:
        raise YamlError(problems)
    return doc


def _build(node: yaml.Node, loc: Path, doc: YamlDoc, problems: list[Problem]) -> Any:
    doc.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(" ").construct_object(key_node)  # scalars only
            key = str(key) if not isinstance(key, (int, bool)) else key
            sub = (*loc, key)
            if key in out:
                problems.append(
                    Problem(doc.path, key_node.start_mark.line + 1, dotted(sub), "duplicate key")
                )
                continue
            doc.lines[sub] = key_node.start_mark.line + 1
            out[key] = _build(value_node, sub, doc, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            sub = (*loc, i)
            doc.lines[sub] = item.start_mark.line + 1
            items.append(_build(item, sub, doc, problems))
        return items
    return yaml.SafeLoader(" ").construct_object(node)
