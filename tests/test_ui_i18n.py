"""The UI catalogue: every key in Dutch and English, and every key the code uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from workbench.domain.enums import (
    BotErrorKind,
    BotKind,
    PairwiseChoice,
    RiskLevel,
    Role,
    TrainingDayStatus,
)
from workbench.ui import registry
from workbench.ui.components import SUPPORT_KEYS
from workbench.ui.i18n import FOLDER, LANGUAGES, catalogue, translate

PKG = Path(__file__).resolve().parent.parent / "workbench"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_dutch_and_english_with_the_same_placeholders() -> None:
    cat = catalogue()
    assert len(cat) > 100
    for key, texts in cat.items():
        assert all(texts[lang].strip() for lang in LANGUAGES), key
        assert placeholders(texts["nl"]) == placeholders(texts["en"]), key


def literal_keys() -> dict[str, str]:
    """Every string literal in the UI that looks like a catalogue key, and every key a service
    puts in an error for the UI (`SomethingError("area.key", ...)`)."""
    areas = "|".join(sorted(f.stem for f in FOLDER.glob("*.yaml")))
    key = rf"""((?:{areas})\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)"""
    in_ui = re.compile(rf"""["']{key}["']""")
    in_errors = re.compile(rf"""Error\(\s*["']{key}["']""")
    found: dict[str, str] = {}
    for root, pattern in ((PKG / "ui", in_ui), (PKG / "services", in_errors)):
        for path in root.rglob("*.py"):
            for k in pattern.findall(path.read_text(encoding="utf-8")):
                found.setdefault(k, str(path.relative_to(PKG)))
    return found


def test_every_key_used_in_the_code_exists() -> None:
    used = literal_keys()
    assert len(used) > 150
    missing = {k: where for k, where in used.items() if k not in catalogue()}
    assert missing == {}


def test_keys_built_at_run_time_exist() -> None:
    families = (
        [f"common.roles.{r}" for r in Role]
        + [f"common.languages.{lang}" for lang in LANGUAGES]
        + [f"common.level.{v}" for v in ("yes", "no")]
        + [f"common.bot_error.{k}" for k in BotErrorKind] + ["common.bot_error.unknown"]
        + [f"common.support.{k}" for k in SUPPORT_KEYS]
        + [f"scoring.risk.{level}" for level in RiskLevel]
        + ["scoring.must", "scoring.must_not"]
        + [f"pairwise.choice.{c}" for c in ("left", "right", "tie")]
        + [f"roleplay.consent.{v}" for v in ("yes", "no")]
        + [f"roleplay.debrief.{k}" for k in ("finished", "stopped")]
        + [f"facilitator.status.{s}" for s in TrainingDayStatus]
        + [f"bots.kind.{k}" for k in BotKind]
        + [f"home.role_intro.{r}" for r in registry.STAFF]
        + [spec.title_key for spec in [registry.SIGN_IN, *registry.PAGES]]
    )
    assert [k for k in families if k not in catalogue()] == []
    assert {c.value for c in PairwiseChoice} == {"a", "b", "tie"}  # stored; the page says A/B


def test_translate_formats_and_falls_back() -> None:
    assert translate("auth.locked", "nl", minutes=3) == \
        "Te veel pogingen achter elkaar. Probeer het over 3 minuten opnieuw."
    assert translate("auth.locked", "en", minutes=3).startswith("Too many attempts")
    assert translate("no.such.key", "nl") == "no.such.key"
