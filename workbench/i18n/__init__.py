"""The one catalogue of text people read, in Dutch and English: the pages, the dashboard's
figures, the board report, the command line and the reference bot's label.

A YAML file here is an area (`common.yaml`, `figures.yaml`, ...): its keys are read as
`<area>.<key>`, nested mappings join with dots, and a mapping with exactly the keys `nl` and
`en` is one text. Placeholders use `str.format` names: `translate("auth.locked", "nl",
minutes=12)`. Pure: the UI's `t()` (workbench/ui/i18n.py) adds the signed-in person's language.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.domain.yamlsource import load_yaml

__all__ = ["DEFAULT_LANGUAGE", "FOLDER", "LANGUAGES", "NO_NUMBER", "catalogue", "chart_separators",
           "number", "percent", "translate"]

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
FOLDER = Path(__file__).parent
NO_NUMBER = "–"  # what a figure without a value shows, in every language (never "nan"/"None")


def _flatten(prefix: str, node: Any, out: dict[str, dict[str, str]], path: str) -> None:
    if isinstance(node, dict) and node and set(node) <= set(LANGUAGES) \
            and not any(isinstance(v, dict) for v in node.values()):
        out[prefix] = {lang: str(node.get(lang, "")) for lang in LANGUAGES}
        return
    if not isinstance(node, dict):
        raise ValueError(f"{path}: {prefix} must be a mapping of nl/en texts")
    for key, value in node.items():
        _flatten(f"{prefix}.{key}", value, out, path)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """Key → {"nl": ..., "en": ...}, from every YAML file in this folder."""
    out: dict[str, dict[str, str]] = {}
    for f in sorted(FOLDER.glob("*.yaml")):
        doc = load_yaml(f.read_text(encoding="utf-8"), path=str(f))  # rejects duplicate keys
        _flatten(f.stem, doc.data, out, str(f))
    return out


def translate(key: str, language: str, **fmt: object) -> str:
    """The text of `key`; a missing key shows itself (and the catalogue test fails on it)."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(language) or entry[DEFAULT_LANGUAGE]
    return text.format(**fmt) if fmt else text


def number(value: float | None, language: str, digits: int = 2, *, sign: bool = False) -> str:
    """A figure as people read it: Dutch writes a decimal comma (0,83), English a point (0.83).
    The one place figures in pages, tables, captions, the report and the CLI are written;
    no value (None, NaN, infinite) shows as a dash."""
    if value is None or not math.isfinite(value):
        return NO_NUMBER
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    if text.lstrip("+-").strip("0.") == "":
        text = text.lstrip("+-")  # -0.00 reads as 0.00: no sign on a rounded zero
    return text.replace(".", ",") if language == "nl" else text


def chart_separators(language: str) -> str:
    """Plotly's `layout.separators` (decimal mark, then thousands), so the numbers a chart
    writes on its axes and in its hover texts follow `number`."""
    return ",." if language == "nl" else ".,"


def percent(share: float | None, language: str, digits: int = 0) -> str:
    """A share 0..1 as a percentage: 0.834 → "83%" (nl and en), with 1 digit "83,4%" in Dutch."""
    if share is None or not math.isfinite(share):
        return NO_NUMBER
    return number(100 * share, language, digits) + "%"
