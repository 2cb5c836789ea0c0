"""Keyboard shortcuts for the scoring form, and starting each new item at the top of the page.

Streamlit has no key handling of its own. `st.html(..., unsafe_allow_javascript=True)` runs a
script in the page itself (no iframe, no CDN, works offline): it listens on the document, finds
the criteria by the `st-key-<widget key>` class Streamlit gives every keyed element, and clicks
the option the way a mouse would, so the form keeps its own values and its one write per submit.
Nothing fires while a text field has the focus (the comment and the rewrite are typed there).
"""

from __future__ import annotations

import html
import json

import streamlit as st

from workbench.ui.i18n import t

# The listener of the previous item (or rerun) is taken off before the new one goes on, so a
# key never acts twice; `item` tells a new reply (start at the top, first criterion) from a
# rerun of the same one (stay on the criterion the rater was at).
_SCRIPT = """
(function () {
  const cfg = __CFG__;
  const doc = document;
  const old = window.__wbScoring;
  if (old) {
    doc.removeEventListener("keydown", old.onKey, true);
    doc.removeEventListener("click", old.onClick, true);
  }
  const fresh = !old || old.item !== cfg.item;
  const state = {item: cfg.item, nonce: cfg.nonce, index: fresh ? 0 : old.index};
  const n = cfg.keys.length;
  const box = (i) => doc.querySelector(".st-key-" + cfg.prefix + "_" + cfg.keys[i]);
  function mark() {
    doc.querySelectorAll(".wb-current").forEach((el) => el.classList.remove("wb-current"));
    const b = box(state.index);
    if (b) b.classList.add("wb-current");
  }
  function typing(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    const kind = (el.type || "").toLowerCase();
    return el.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(kind);
  }
  function move(by) {
    state.index = Math.max(0, Math.min(n - 1, state.index + by));
    mark();
    const b = box(state.index);
    if (b) b.scrollIntoView({block: "nearest"});
  }
  function choose(option) {
    const b = box(state.index);
    const options = b ? b.querySelectorAll('[role="radiogroup"] label') : [];
    if (option < 0 || option >= options.length) return;
    options[option].click();
    move(1);
  }
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (typing(e.target) || typing(doc.activeElement) || !box(0)) return;
    const key = e.key.toLowerCase();
    const yesNo = cfg.yes_no[state.index];
    let handled = true;
    if (/^[1-5]$/.test(key)) choose(yesNo ? (key === "1" ? 0 : key === "2" ? 1 : -1)
                                          : Number(key) - 1);
    else if (yesNo && key === cfg.yes) choose(0);
    else if (yesNo && key === cfg.no) choose(1);
    else if (key === "arrowdown" || key === "arrowright") move(1);
    else if (key === "arrowup" || key === "arrowleft") move(-1);
    else if (key === "enter" && !["BUTTON", "A"].includes(e.target.tagName)) {
      const submit = doc.querySelector(".st-key-" + cfg.submit + " button");
      if (submit) submit.click(); else handled = false;
    } else handled = false;
    if (handled) { e.preventDefault(); e.stopPropagation(); }
  }
  function onClick(e) {
    for (let i = 0; i < n; i++) {
      const b = box(i);
      if (b && b.contains(e.target)) { state.index = i; mark(); return; }
    }
  }
  state.onKey = onKey;
  state.onClick = onClick;
  window.__wbScoring = state;
  doc.addEventListener("keydown", onKey, true);
  doc.addEventListener("click", onClick, true);
  if (fresh || old.nonce !== cfg.nonce) {
    // A new reply (or an error to read) starts at the top, wherever the last one was left.
    const scrollers = [doc.scrollingElement, ...doc.querySelectorAll(
      '[data-testid="stMain"], [data-testid="stAppViewContainer"], section.main')];
    scrollers.forEach((el) => { if (el) el.scrollTop = 0; });
    window.scrollTo(0, 0);
  }
  // Streamlit may still be drawing the form when this runs: mark the criterion once it is there.
  [0, 100, 600].forEach((ms) => setTimeout(mark, ms));
})();
"""

_STYLE = """
<style>
.wb-current { outline: 2px solid #7c3aed; outline-offset: 3px; border-radius: .4rem; }
.wb-keys { font-size: .8rem; opacity: .75; }
/* Options closer together than Streamlit's 1rem, so three criteria share a row. */
.st-key-sc_box [data-testid="stRadioGroup"] { gap: .1rem .6rem; }
.wb-keys kbd { border: 1px solid #999; border-radius: 3px; padding: 0 .25em; font-size: .75rem; }
</style>
"""


def _kbd(*keys: str) -> str:
    return "/".join(f"<kbd>{html.escape(k)}</kbd>" for k in keys)


def scoring_shortcuts(*, item: str, prefix: str, criteria: list[tuple[str, bool]],
                      submit_key: str, nonce: int = 0) -> None:
    """The key legend (Dutch first) and the listener for one form.

    criteria: (key, is yes/no) in the form's order; the widgets are keyed `<prefix>_<key>`.
    item: tells one reply from the next; nonce: bump it to scroll to the top again (an error).
    """
    yes, no = t("scoring.key_yes"), t("scoring.key_no")
    keys = {"keys_score": _kbd("1", "…", "5"), "keys_yes_no": _kbd(yes.upper(), no.upper()),
            "keys_move": _kbd("↑", "↓"), "keys_submit": _kbd("Enter")}
    # The catalogue's text is escaped as text; only the key caps are markup.
    legend = html.escape(t("scoring.keys_legend", **{k: f"\x01{k}\x01" for k in keys}))
    for name, markup in keys.items():
        legend = legend.replace(f"\x01{name}\x01", markup)
    cfg = {"item": item, "nonce": nonce, "prefix": prefix, "keys": [k for k, _ in criteria],
           "yes_no": [y for _, y in criteria], "submit": submit_key, "yes": yes.lower(),
           "no": no.lower()}
    # json.dumps cannot close the script tag: "</" is escaped as well.
    script = _SCRIPT.replace("__CFG__", json.dumps(cfg).replace("</", "<\\/"))
    st.html(f"{_STYLE}<div class='wb-keys'>{legend}</div><script>{script}</script>",
            unsafe_allow_javascript=True)
