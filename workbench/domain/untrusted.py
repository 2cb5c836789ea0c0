"""Text from outside the catalogue (a bot reply, a panel message, a rewrite, a comment, a scenario
text, a prompt label) made inert for display: plain, as Markdown that shows itself literally, or
as HTML text for the report. Nothing in it may make a viewer's browser fetch anything
(issue 13, item 3): no image, no HTML, no link that a renderer builds from it.

Every function keeps the line breaks; emphasis and other formatting are shown as the characters
that were typed (`**vet**` stays `**vet**`), which is the point.
"""

from __future__ import annotations

import html
import re
import string

# C0 controls other than tab and newline, and DEL: invisible, and NUL breaks the database and
# some renderers. A lone surrogate cannot be encoded as UTF-8 at all (the page would fail).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PUNCTUATION = frozenset(string.punctuation)  # CommonMark lets every one be escaped with "\"
WORD_JOINER = "\u2060"
# GitHub-flavoured Markdown turns bare "http://…", "www.…" and "a@b.nl" into links even after
# the escapes are resolved (the autolink pass runs on the text itself); an invisible word
# joiner in front of them is not the start of a word, so no link is made. After ":" it stops
# ":material/home:", ":smile:" and ":red[...]" from becoming icons and colours.
_LINK_START = re.compile(r"(?i)(?<![\w.+-])(?=(?:[a-z][a-z0-9+.-]*:|www\.))|(?=@)")
NBSP = "\u00a0"


def plain_text(text: str | None) -> str:
    """The text as shown by a renderer that interprets nothing (st.text): control characters
    and lone surrogates dropped or replaced, Windows and old Mac line ends made "\\n"."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))


def _escape_line(line: str) -> str:
    # Leading spaces would make an indented code block; non-breaking ones keep the indent.
    body = line.lstrip(" \t")
    indent = line[:len(line) - len(body)].replace("\t", "    ").replace(" ", NBSP)
    body = _LINK_START.sub(WORD_JOINER, body)
    escaped = "".join(f"\\{ch}" if ch in _PUNCTUATION else ch for ch in body)
    return indent + escaped.replace(":", ":" + WORD_JOINER)


def markdown_literal(text: str | None) -> str:
    """Markdown that a Markdown renderer (st.markdown, st.caption, st.info, widget labels and
    options) shows as exactly these characters: every ASCII punctuation mark is escaped, so no
    image, link, HTML tag, heading, list or emphasis is made; each line break is a hard break."""
    return "  \n".join(_escape_line(line) for line in plain_text(text).split("\n"))


def html_literal(text: object) -> str:
    """HTML text (element content or a quoted attribute) that shows exactly these characters."""
    return html.escape(plain_text(str(text)), quote=True)
