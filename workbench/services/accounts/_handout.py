"""The printable hand-out of a batch of join codes: one self-contained HTML page, one slip per
code with the day's name and date, cut lines between the slips, and no names of people.

Everything put into the page is escaped (a day's name is typed by a person), and the page
loads nothing from elsewhere, so it prints the same offline."""

from __future__ import annotations

import html
from datetime import date

from workbench.i18n import translate

_CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: Arial, Helvetica, sans-serif; margin: 0; color: #1a1a1a; }
h1 { font-size: 16px; margin: 0 0 8px; }
.note { font-size: 12px; margin: 0 0 12px; }
.slips { display: grid; grid-template-columns: 1fr 1fr; gap: 0; }
.slip { border: 1px dashed #777; padding: 14px 16px; min-height: 45mm;
        break-inside: avoid; page-break-inside: avoid; }
.day { font-size: 13px; margin: 0 0 2px; font-weight: bold; }
.date { font-size: 12px; margin: 0 0 10px; }
.code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 26px;
        letter-spacing: 2px; margin: 6px 0 10px; white-space: nowrap; }
.how { font-size: 11px; margin: 0; }
@media print { .note { display: none; } }
@media screen { body { padding: 16px; } }
"""


def join_code_handout(*, day_name: str, day_date: date, codes: list[str],
                      language: str = "nl") -> str:
    """The HTML text of the hand-out (UTF-8); `codes` as `issue_join_codes` returned them."""
    def tr(key: str, **fmt: object) -> str:
        return html.escape(translate(f"join_codes.handout.{key}", language, **fmt))

    name = html.escape(day_name.replace("\x00", "")[:200])
    when = day_date.strftime("%d-%m-%Y")
    slips = "\n".join(
        f'<div class="slip"><p class="day">{name}</p>'
        f'<p class="date">{tr("date", date=when)}</p>'
        f'<p class="code">{html.escape(code)}</p>'
        f'<p class="how">{tr("how", date=when)}</p></div>'
        for code in codes)
    return (
        f'<!DOCTYPE html>\n<html lang="{"en" if language == "en" else "nl"}"><head>'
        '<meta charset="utf-8"><meta name="robots" content="noindex">'
        f"<title>{tr('title')} · {name}</title><style>{_CSS}</style></head><body>"
        f"<h1>{tr('title')} · {name}</h1>"
        f'<p class="note">{tr("note", n=len(codes))}</p>'
        f'<div class="slips">{slips}</div></body></html>\n'
    )
