"""The UI's side of the catalogue (`workbench.i18n`): `t()` in the signed-in person's language."""

from __future__ import annotations

from workbench.i18n import DEFAULT_LANGUAGE, FOLDER, LANGUAGES, catalogue, number, translate

__all__ = ["DEFAULT_LANGUAGE", "FOLDER", "LANGUAGES", "SESSION_KEY", "catalogue",
           "category", "current_language", "num", "t", "translate", "yes_no"]

SESSION_KEY = "auth_language"


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


def category(value: object) -> str:
    """A risk level, writer or form of violence by its catalogue name (`acute` → "acuut");
    a value the catalogue does not know shows as it is."""
    key = f"figures.category.{value}"
    return t(key) if key in catalogue() else str(value)


def yes_no(value: object) -> str:
    """A yes/no value as a word ("Ja"/"Nee"), never True/False; an empty one as a dash."""
    if value is None:
        return "–"
    if isinstance(value, str) and value in ("yes", "no"):
        return t(f"common.level.{value}")
    return t("common.level.yes") if value else t("common.level.no")


def num(value: float | None, digits: int = 2, *, sign: bool = False) -> str:
    """A figure in the signed-in person's language (a decimal comma in Dutch)."""
    return number(value, current_language(), digits, sign=sign)
