"""Untrusted text shown inert (issue 13, item 3): the escaping itself, checked by rendering the
escaped text with a CommonMark renderer and by the HTML it yields. The real browser test
(test_browser_remote_content.py) checks Streamlit's own renderer."""

from __future__ import annotations

import html
import re

import pytest

from workbench.domain.untrusted import (
    NBSP,
    WORD_JOINER,
    html_literal,
    markdown_literal,
    plain_text,
)

URL = "http://127.0.0.1:9/beacon"
HOSTILE = [
    f"![]({URL}/img)",
    f"![alt][1]\n\n[1]: {URL}/ref",
    f"![alt]\n\n[alt]: {URL}/shortcut-ref",
    f'<img src="{URL}/raw">',
    f"<script src='{URL}/js'></script><script>fetch('{URL}/inline')</script>",
    f"<{URL}/autolink> <mailto:a@b.nl>",
    f"bare {URL}/bare and www.example.nl and a@b.nl",
    f"[![x]({URL}/nested)]({URL}/link) [[[x]]]({URL}/deep) ![a ![b]({URL}/in)]({URL}/out)",
    "&lt;img src=x&gt; &#60;b&#62; &amp;amp; &#x3C;",
    f"<iframe src={URL}/frame></iframe><svg><image href='{URL}/svg'/></svg>",
    f'<div style="background:url({URL}/css)">x</div>',
    "# kop\n- lijst\n1. genummerd\n> citaat\n    code\n```\nblok\n```\n---",
    "**vet** _schuin_ `code` ~~weg~~ | a | b |\n|---|---|",
    ":material/home: :red[rood] :smile: $x^2$ \\(x\\)",
    "Veilig Thuis 0800-2000, 112 of 113 / 0800-0113.",
]


def render(markdown: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    return str(markdown_it.MarkdownIt("commonmark").enable("table").enable("strikethrough")
               .render(markdown))


def shown_text(rendered: str) -> str:
    """What a reader sees: tags dropped, entities resolved, invisible joiners and spaces
    normalised, hard breaks as newlines."""
    text = re.sub(r"<br />\n?", "\n", rendered)
    text = re.sub(r"</p>\n?<p>", "\n\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return text.replace(WORD_JOINER, "").replace(NBSP, " ").strip("\n")


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_literal_renders_as_exactly_the_typed_characters(text: str) -> None:
    rendered = render(markdown_literal(text))
    tags = set(re.findall(r"<(/?\w+)", rendered))
    assert tags <= {"p", "/p", "br"}, rendered
    expected = "\n".join(line.rstrip() for line in text.split("\n"))
    shown = "\n".join(line.rstrip() for line in shown_text(rendered).split("\n"))
    # A blank line is a paragraph break: the same lines, the same gaps.
    assert shown == expected


def test_no_renderer_finds_a_bare_link_start() -> None:
    """GFM links bare URLs, www. and e-mail addresses on the resolved text: each is preceded
    by an invisible word joiner, so it is not at the start of a word."""
    out = markdown_literal("zie http://x.nl, HTTPS://x.nl, www.x.nl, ftp://x, javascript:alert(1)"
                           " en mail a@b.nl")
    assert not re.search(r"(?<!\u2060)(?i:https?|ftp|javascript|www)", out)
    assert "@" in out and not re.search(r"(?<!\u2060)\\@", out)
    assert not re.search(r":(?!\u2060)", out)  # no :shortcode: or :color[...] directive


def test_line_breaks_and_indents_stay() -> None:
    out = markdown_literal("regel een\nregel twee\n\n    ingesprongen\n\tmet tab")
    assert out.count("  \n") == 4
    assert render(out).count("<br />") == 2  # two paragraphs of two lines each
    assert "<pre>" not in render(out)  # an indent is not a code block
    assert f"{NBSP * 4}ingesprongen" in out and f"{NBSP * 4}met tab" in out


def test_controls_nul_and_surrogates_are_dropped() -> None:
    assert plain_text("a\x00b\x07c\r\nd\re\ud800f\tg") == "ab" + "c\nd\ne\ufffdf\tg"
    assert plain_text(None) == "" and markdown_literal(None) == ""
    assert "\x00" not in markdown_literal("\x00" * 1000 + "x")
    markdown_literal("x\ud800").encode("utf-8")  # encodable, so the page can send it


def test_a_100_kb_text_stays_literal_and_quick() -> None:
    import time

    text = (f"![]({URL}/{{n}}) <img src={URL}> **x**\n" * 2500)[:100_000]
    started = time.perf_counter()
    out = markdown_literal(text)
    took = time.perf_counter() - started
    assert len(out) < 4 * len(text)
    assert "<img" not in render(out) and "<strong>" not in render(out)
    print(f"markdown_literal of 100 kB: {took * 1000:.0f} ms")


def test_html_literal_leaves_no_markup() -> None:
    for text in HOSTILE:
        out = html_literal(text)
        assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
        assert html.unescape(out) == plain_text(text)
    assert html_literal("a\x00b") == "ab" and html_literal(12) == "12"


def test_helpline_numbers_survive() -> None:
    text = "Bel 112, 0800-2000, 113 of 0800-0113, Kindertelefoon 0800-0432."
    assert shown_text(render(markdown_literal(text))) == text
    assert html.unescape(html_literal(text)) == text
    assert plain_text(text) == text
