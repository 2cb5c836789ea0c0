"""The one catalogue of UI text: every key in Dutch and English, from the YAML files here.

A file is an area (`common.yaml`, `scoring.yaml`, ...): its keys are read as `<area>.<key>`,
nested mappings join with dots, and a mapping with exactly the keys `nl` and `en` is one text.
Placeholders use `str.format` names: `t("auth.locked", minutes=12)`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.domain.yamlsource import load_yaml

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
FOLDER = Path(__file__).parent
SESSION_KEY = "auth_language"


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


def current_language() -> str:
    import streamlit as st

    lang = st.session_state.get(SESSION_KEY)
    if lang in LANGUAGES:
        return str(lang)
    from workbench.config import get_settings

    return get_settings().language


def t(key: str, **fmt: object) -> str:
    """The text of `key` in the signed-in person's language."""
    return translate(key, current_language(), **fmt)
