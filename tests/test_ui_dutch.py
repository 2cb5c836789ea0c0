"""One language at a time (issue 14, item 21): every page, for every role that may open it,
rendered in Dutch over the demo data, with everything a person can read collected — titles,
text, captions, alerts, labels, options, placeholders, metric values, table headers and cells,
tab and expander labels, chart labels — and checked for English leftovers, raw stored values
(`acute`, `panel`, criterion keys), Streamlit's own English defaults ("Choose an option",
"Help for …") and decimal points in figures.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import streamlit
from streamlit.testing.v1 import AppTest

from tests.training_support import panel_member, signed_in_app
from workbench.domain import enums
from workbench.domain.enums import Role
from workbench.domain.library import Library, load_library
from workbench.i18n import catalogue, number, percent
from workbench.services import accounts
from workbench.services.curation import set_lead
from workbench.ui import registry

ROOT = Path(__file__).resolve().parent.parent
ROLES = [Role.facilitator, Role.expert, Role.developer, Role.manager, Role.panel]

# English words and Streamlit defaults that never belong on a Dutch page (whole words).
ENGLISH = ("Choose an option", "Choose options", "Help for", "No options to select", "Select",
           "Download", "None", "True", "False", "nan", "NaN", "undefined", "items",
           "raters", "bootstrap", "Lead", "lead", "Judge", "judge", "CI")
ENGLISH_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w-])")
# A figure with a decimal point: 0.83, 3.5, -0.12 (not 127.0.0.1, not v1.2.3, not a date).
DECIMAL_POINT = re.compile(r"(?<![\w.])[-+]?\d+\.\d+(?![\w.])")
# Streamlit 1.67 writes this aria label for every `help=` tooltip, in English; other versions
# may not, so the check follows what the installed front end does.
HELP_IS_ENGLISH = any("Help for" in p.read_text(errors="ignore") for p in
                      (Path(streamlit.__file__).parent / "static").rglob("*.js"))


def raw_values(library: Library) -> set[str]:
    """Stored values that must show through a catalogue label: every enum value (except the
    ones Dutch writes the same: `expert`, `open`, `manager`, ...), every criterion key."""
    dutch = {texts["nl"].casefold() for texts in catalogue().values()}
    values = {str(m.value) for e in vars(enums).values()
              if isinstance(e, type) and issubclass(e, enums.StrEnum) and e is not enums.StrEnum
              for m in e}
    keys = {c.key for r in library.rubrics.values() for c in r.rubric.criteria}
    # "reference" is also the name of the built-in bot (data, shown like any bot's name).
    return ({v for v in values if v.casefold() not in dutch} - {"reference"}) | keys \
        | {"lead_expert"}


@dataclass
class Seen:
    """What one rendered page shows, by the kind of place it shows it."""

    prose: list[str] = field(default_factory=list)  # titles, text, captions, alerts, labels
    values: list[str] = field(default_factory=list)  # options, cells, metrics, tab labels
    figures: list[str] = field(default_factory=list)  # where a number is a figure
    widgets_with_help: list[str] = field(default_factory=list)
    pickers_without_placeholder: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)


def _cells(frame: pd.DataFrame, seen: Seen) -> None:
    seen.values += [str(c) for c in frame.columns]
    if not isinstance(frame.index, pd.RangeIndex):
        seen.values += [str(i) for i in frame.index]
    for col in frame.columns:
        for cell in frame[col].tolist():
            if cell is None or (isinstance(cell, float) and pd.isna(cell)):
                seen.values.append("None")  # st.dataframe shows an empty cell as "None"
            elif isinstance(cell, bool):
                seen.values.append(str(cell))
            elif isinstance(cell, float) and not cell.is_integer():
                seen.figures.append(repr(cell))  # the browser writes it with a point
            else:
                seen.values.append(str(cell))
                seen.figures.append(str(cell))


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def collect(at: AppTest) -> Seen:
    seen = Seen()
    for node in _walk(at._tree):
        kind = getattr(node, "type", "")
        label = getattr(node, "label", None)
        if kind in ("tab", "expander") and label:
            seen.values.append(str(label))
            seen.prose.append(str(label))
            continue
        if kind in ("markdown", "caption", "title", "header", "subheader", "text", "toast",
                    "error", "warning", "info", "success"):
            text = str(node.value)
            seen.prose.append(text)
            seen.figures.append(text)
        elif kind == "metric":
            seen.prose.append(str(node.label))
            seen.values.append(str(node.value))
            seen.figures.append(str(node.value))
        elif kind in ("arrow_data_frame", "dataframe", "table"):
            _cells(node.value, seen)
        elif kind == "plotly_chart":
            seen.charts.append(json.loads(node.proto.spec))
        elif kind in ("selectbox", "multiselect", "radio", "select_slider", "checkbox",
                      "toggle", "text_input", "text_area", "number_input", "date_input",
                      "slider", "button", "download_button", "chat_input", "page_link",
                      "time_input", "button_group"):
            proto = node.proto
            if getattr(proto, "label", ""):
                seen.prose.append(proto.label)
            options = [str(o) for o in getattr(proto, "options", [])]
            seen.values += options
            seen.figures += options
            seen.prose += [str(c) for c in getattr(proto, "captions", [])]
            if getattr(proto, "placeholder", "").strip():
                seen.prose.append(proto.placeholder)
            if getattr(proto, "help", ""):
                seen.widgets_with_help.append(f"{kind} {proto.label!r}")
            if kind == "multiselect" and not proto.placeholder.strip():
                seen.pickers_without_placeholder.append(f"multiselect {proto.label!r}")
            if kind == "selectbox" and not options:
                seen.pickers_without_placeholder.append(f"empty selectbox {proto.label!r}")
            if kind == "selectbox" and not proto.HasField("default") \
                    and not proto.placeholder.strip():
                seen.pickers_without_placeholder.append(f"selectbox {proto.label!r}")
    return seen


def chart_problems(chart: dict[str, Any], raw: set[str]) -> list[str]:
    layout = chart.get("layout", {})
    out = [] if layout.get("separators") == ",." else ["chart without Dutch separators ',.'"]
    for trace in chart.get("data", []):
        for axis in ("x", "y"):
            values = trace.get(axis) or []
            if isinstance(values, dict):  # a numpy array as plotly's binary form: numbers
                continue
            out += [f"chart {axis} {v!r}" for v in values if isinstance(v, str) and v in raw]
        if isinstance(trace.get("name"), str) and trace["name"] in raw:
            out.append(f"chart trace {trace['name']!r}")
    return out


CODE_SPAN = re.compile(r"`[^`]*`")  # a command to type (`workbench judge ...`) stays as it is


def problems(seen: Seen, raw: set[str]) -> list[str]:
    found: list[str] = []
    for text in seen.prose + seen.values:
        found += [f"English {m!r} in {text[:90]!r}"
                  for m in ENGLISH_RE.findall(CODE_SPAN.sub("", text))]
    for value in seen.values:
        if value.strip() in raw:
            found.append(f"raw value {value!r}")
    underscore_keys = {k for k in raw if "_" in k}
    for text in seen.prose:
        found += [f"raw key {k!r} in {text[:90]!r}" for k in underscore_keys
                  if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", text)]
    for text in seen.figures:
        found += [f"decimal point {m!r} in {text[:90]!r}" for m in DECIMAL_POINT.findall(text)]
    if HELP_IS_ENGLISH:
        found += [f"help= tooltip (English 'Help for' label): {w}"
                  for w in seen.widgets_with_help]
    found += [f"no Dutch placeholder: {p}" for p in seen.pickers_without_placeholder]
    for chart in seen.charts:
        found += chart_problems(chart, raw)
    return sorted(set(found))


# --- the demo database, once for the module -----------------------------------------------


@dataclass
class Demo:
    engine: sa.Engine
    library: Library
    users: dict[Role, accounts.SignedIn]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from workbench.config import get_settings
    from workbench.services.context import get_engine
    from workbench.services.demo import load_demo

    root = tmp_path_factory.mktemp("dutch")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_DATA_DIR", str(root / "data"))
        mp.setenv("WORKBENCH_RUNS_DIR", str(root / "runs"))
        mp.delenv("WORKBENCH_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        eng = get_engine(get_settings())
        library = load_library([ROOT / "scenarios", ROOT / "rubrics"])
        summary = load_demo(engine=eng, library=library, runs_dir=root / "runs",
                            scenario_ids=sorted(library.scenarios)[:4], only_if_empty=False)
        assert summary.created and summary.training_day_id
        users = {role: accounts.create_staff(engine=eng, code=f"nl-{role}", role=role,
                                             password=None)
                 for role in ROLES if role != Role.panel}
        set_lead(engine=eng, code=f"nl-{Role.expert}", lead=True)
        users[Role.panel] = panel_member(eng, summary.training_day_id)
        import streamlit as st

        st.cache_data.clear()
        yield Demo(eng, library, users)
        get_settings.cache_clear()


PAGES = [(role, spec.path) for role in ROLES for spec in registry.pages_for(role)]


@pytest.mark.parametrize(("role", "path"), PAGES, ids=[f"{r}-{Path(p).stem}" for r, p in PAGES])
def test_every_page_in_dutch_shows_no_english_and_no_decimal_point(
        demo: Demo, role: Role, path: str) -> None:
    at = signed_in_app(demo.users[role])
    assert at.session_state["auth_language"] == "nl"
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    seen = collect(at)
    assert seen.prose, "the page showed nothing"
    found = problems(seen, raw_values(demo.library))
    assert not found, "\n".join(found)


def test_the_sign_in_page_in_dutch(demo: Demo) -> None:
    from tests.training_support import app

    at = app().run()
    assert not at.exception
    assert problems(collect(at), raw_values(demo.library)) == []


# --- the checks themselves catch what they are for -------------------------------------------


def test_the_checks_catch_english_raw_values_and_decimal_points(library: Library) -> None:
    raw = raw_values(library)
    assert {"acute", "panel", "lived_experience", "safety", "would_send", "human", "judge",
            "simulated", "closed", "lead_expert"} <= raw
    assert "expert" not in raw and "open" not in raw  # Dutch writes these the same
    seen = Seen(prose=["Choose an option", "Help for Veiligheid", "Download (zip)",
                       "Score voor listen_validate"],
                values=["acute", "True", "safety"], figures=["gemiddeld 3.5", "α 0,83"])
    found = problems(seen, raw)
    assert any("'Choose an option'" in p for p in found)
    assert any("'Help for'" in p for p in found)
    assert any("'Download'" in p for p in found)
    assert any("listen_validate" in p for p in found)
    assert {"raw value 'acute'", "raw value 'safety'"} <= set(found)
    assert any("'3.5'" in p for p in found) and not any("0,83" in p for p in found)
    clean = Seen(prose=["Zip downloaden", "Kies een dag", "Veilig Thuis 0800-2000, 112",
                        "Typ `workbench judge`"],
                 values=["acuut", "ervaringsdeskundige"],
                 figures=["0,83 [0,61; 0,90]", "http://127.0.0.1:8000/v1", "83%"])
    assert problems(clean, raw) == []


def test_number_writes_a_decimal_comma_in_dutch_only() -> None:
    assert number(0.834, "nl") == "0,83" and number(0.834, "en") == "0.83"
    assert number(3.5, "nl", 1) == "3,5" and number(12, "nl", 0) == "12"
    assert number(0.123, "nl", sign=True) == "+0,12" and number(-0.5, "en", 1, sign=True) == "-0.5"
    assert number(-0.0001, "nl", 2, sign=True) == "0,00"  # a rounded zero has no sign
    assert number(None, "nl") == number(float("nan"), "nl") == number(float("inf"), "en") == "–"
    assert percent(0.834, "nl") == "83%" and percent(0.8345, "nl", 1) == "83,5%"
    assert percent(None, "en") == "–"


def test_alpha_reads_with_decimal_commas_in_dutch() -> None:
    from workbench.domain.agreement import NO_VARIATION, AlphaResult, format_alpha

    r = AlphaResult(0.7234, None, 40, 3, 120, 0.8, ci_low=0.6051, ci_high=0.8049)
    assert format_alpha(r, language="nl") == "0,72 [0,61; 0,80]"
    assert format_alpha(r) == "0.72 [0.61, 0.80]"  # English (and the CLI) as before
    undefined = AlphaResult(None, NO_VARIATION, 40, 3, 120, 1.0)
    assert format_alpha(undefined, language="nl") == \
        "niet te berekenen: geen variatie, elke beoordeling is gelijk"
    assert format_alpha(AlphaResult(float("nan"), None, 1, 2, 2, 1.0), language="nl") == \
        "niet te berekenen: de formule gaf geen getal"
