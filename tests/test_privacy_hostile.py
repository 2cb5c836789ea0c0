"""Personal data written to slip past a pattern match (tests/data/pii_hostile.yaml), and the
export gate as an independent second pass: recall and kept-rate on both case sets, the gate
alone behind a scrubber that finds nothing, and the gate on clean texts and shipped scenarios."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_privacy import CASES, KEPT_MIN, RECALL_MIN, _removed
from workbench.domain.privacy import (
    DeduceScrubber,
    Finding,
    ScrubContext,
    ScrubResult,
    get_scrubber,
    residual_pii,
    scrub_conversation,
)
from workbench.domain.privacy_patterns import passes_elfproef, passes_iban_check

ROOT = Path(__file__).resolve().parent.parent
HOSTILE: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "tests" / "data" / "pii_hostile.yaml").read_text(encoding="utf-8")
)["cases"]
# The hostile set was written together with the normaliser, so it measures coverage of the
# writing tricks more than generalisation (its blind- cases excepted). Recall may lose three of
# its 152 substrings to a change in deduce's lists, never more. Kept-rate stays 1.0: a scrubbed
# helpline number or ordinary sentence harms the training data as surely as a leak harms the
# writer, and the old set's thresholds (RECALL_MIN, KEPT_MIN) hold unchanged.
HOSTILE_RECALL_MIN = 0.98
HOSTILE_KEPT_MIN = 1.0
# The gate alone (scrubber stubbed out) must stop every hostile text: they are exactly what a
# first pass misses through formatting. On the old set it cannot see bare surnames, names and
# places at a sentence start, bare kentekens, platform handles or dates without a year.
GATE_ALONE_HOSTILE_MIN = 1.0
GATE_ALONE_OLD_MIN = 0.85


@pytest.fixture(scope="module")
def scrubber() -> DeduceScrubber:
    return get_scrubber()


def _score(scrubber: DeduceScrubber, cases: list[dict[str, Any]]) -> tuple[float, float, list[str]]:
    expected = removed = to_keep = kept = 0
    misses: list[str] = []
    for case in cases:
        out = scrubber.scrub(case["text"]).text
        for pii in case.get("pii", []):
            expected += 1
            if _removed(pii, out):
                removed += 1
            else:
                misses.append(f"{case['id']}: {pii!r} -> {out!r}")
        for keep in case.get("keep", []) + ([case["text"]] if case.get("unchanged") else []):
            to_keep += 1
            if keep in out:
                kept += 1
            else:
                misses.append(f"{case['id']}: lost {keep!r} -> {out!r}")
    return removed / expected, kept / to_keep, misses


def test_hostile_set_covers_every_trick() -> None:
    assert len(HOSTILE) >= 60
    assert not {c["id"] for c in HOSTILE} & {c["id"] for c in CASES}
    ids = " ".join(c["id"] for c in HOSTILE)
    for trick in ("zw-", "fw-", "sep-", "iban-", "mail-", "spell-", "name-lc-", "addr-lc-",
                  "keep-"):  # fmt: skip
        assert trick in ids, trick
    assert sum(c["id"].startswith("keep-") for c in HOSTILE) >= 25
    texts = " ".join(c["text"] for c in HOSTILE)
    for char in ("\u200b", "\u00ad", "\u2060", "\ufeff"):
        assert char in texts, hex(ord(char))
    for bsn in ("442323220", "183406291", "453789651"):
        assert passes_elfproef(bsn)
    for iban in ("NL44RABO0123456789", "NL05INGB0008765432", "NL30ABNA0512345678",
                 "NL12TRIO0198765432", "BE68539007547034"):  # fmt: skip
        assert passes_iban_check(iban)


def test_recall_and_kept_rate_on_both_sets(scrubber: DeduceScrubber) -> None:
    old_recall, old_kept, old_misses = _score(scrubber, CASES)
    recall, kept, misses = _score(scrubber, HOSTILE)
    print(f"\nold set ({len(CASES)}): recall {old_recall:.3f}, kept-rate {old_kept:.3f}")
    print(f"hostile set ({len(HOSTILE)}): recall {recall:.3f}, kept-rate {kept:.3f}")
    print("\n".join(old_misses + misses))
    assert old_recall >= RECALL_MIN and old_kept >= KEPT_MIN, old_misses
    assert recall >= HOSTILE_RECALL_MIN, misses
    assert kept >= HOSTILE_KEPT_MIN, misses


class _FindsNothing:
    """A first pass that misses everything, as a broken scrubber would."""

    def find(self, text: str) -> list[Finding]:
        return []

    def scrub(self, text: str, *, context: ScrubContext | None = None) -> ScrubResult:
        return ScrubResult(text, [])


def test_gate_catches_what_the_first_pass_misses() -> None:
    stub = _FindsNothing()
    for cases, minimum in ((HOSTILE, GATE_ALONE_HOSTILE_MIN), (CASES, GATE_ALONE_OLD_MIN)):
        with_pii = [c for c in cases if c.get("pii")]
        missed = [c["id"] for c in with_pii if not residual_pii(stub.scrub(c["text"]).text)]
        caught = 1 - len(missed) / len(with_pii)
        print(f"\ngate alone: {len(with_pii) - len(missed)}/{len(with_pii)}; missed {missed}")
        assert caught >= minimum, missed


def _scenario_texts() -> list[str]:
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            texts.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return texts


def test_gate_passes_clean_and_scrubbed_texts(scrubber: DeduceScrubber) -> None:
    clean = [c["text"] for c in CASES + HOSTILE if not c.get("pii")]
    flagged = {t: residual_pii(t) for t in clean if residual_pii(t)}
    assert flagged == {}, "false positives on clean texts"
    scrubbed = [scrubber.scrub(c["text"]).text for c in CASES + HOSTILE]
    assert {t: residual_pii(t) for t in scrubbed if residual_pii(t)} == {}
    scenario = _scenario_texts()
    assert len(scenario) > 500
    out = [r.text for r in scrub_conversation(scenario, scrubber=scrubber)]
    assert {t: residual_pii(t) for t in out if residual_pii(t)} == {}, "scenario export blocked"


def test_gate_shares_no_detector_with_the_scrubber() -> None:
    tree = ast.parse((ROOT / "workbench" / "domain" / "privacy_gate.py").read_text())
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    modules = {m for m, _ in imported}
    assert not modules & {"workbench.domain.normalise", "workbench.domain.privacy_context",
                          "workbench.domain.privacy"}  # fmt: skip
    from_patterns = {n for m, n in imported if m == "workbench.domain.privacy_patterns"}
    assert from_patterns <= {"HELPLINE_NUMBERS", "ORGANISATION_RE", "Finding", "is_allowed_url"}


@pytest.mark.parametrize(
    "text",
    [
        "Bel 0800\u200b2000.",
        "Bel ０８００-２０００ of １１２.",
        "bel nul acht nul nul twee nul nul nul",
        "Bel 0800 - 2000.",
        "Bel +31 800 2000.",
        "bel 0800 0113 of 0800\u00ad0432",
        "Bel 0900-8844\u2060 of 0900 0101.",
        "bel 0800-2000/112",
    ],
)
def test_helplines_are_kept_in_any_spelling(scrubber: DeduceScrubber, text: str) -> None:
    assert scrubber.scrub(text).text == text
    assert residual_pii(text) == []


def _spellings(number: str) -> list[str]:
    """A helpline number as people write it: plain, split, with odd characters, in words."""
    head, tail = (number[:4], number[4:]) if len(number) == 8 else (number, "")
    words = " ".join("nul een twee drie vier vijf zes zeven acht negen".split()[int(d)]
                     for d in number)  # fmt: skip
    found = [number, words, number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))]
    if tail:
        found += [f"{head}-{tail}", f"{head} {tail}", f"{head} - {tail}", f"{head}\u200b{tail}",
                  f"{head}\u00ad-{tail}", f"+31 {head[1:]} {tail}"]  # fmt: skip
    return found


def test_every_helpline_survives_every_spelling(scrubber: DeduceScrubber) -> None:
    from workbench.domain.privacy_patterns import HELPLINE_NUMBERS

    for number in sorted(HELPLINE_NUMBERS):
        for spelled in _spellings(number):
            for text in (f"Bel {spelled}.", spelled, f"Mijn nummer is 06-12345678; bel {spelled}"):
                out = scrubber.scrub(text).text
                assert spelled in out, (text, out)
                assert residual_pii(out) == [], (text, residual_pii(out))


def test_the_original_characters_are_replaced(scrubber: DeduceScrubber) -> None:
    out = scrubber.scrub("Bel 06\u200b1234\u00ad5678 of mail sanne (at) gmail (dot) com!").text
    assert out == "Bel [TELEFOON-1] of mail [EMAIL-1]!"
    result = scrubber.scrub("ik ben fatima el amrani")
    assert result.text == "ik ben [PERSOON-1]"
    assert [(f.type, f.text) for f in result.findings] == [("PERSOON", "fatima el amrani")]


def test_placeholders_agree_however_a_value_is_written(scrubber: DeduceScrubber) -> None:
    turns = [
        "Mijn nummer is 06-12345678, mail sanne.devries@gmail.com.",
        "nogmaals: nul zes een twee drie vier vijf zes zeven acht",
        "of ０６\u200b１２３４５６７８, of sanne.devries (at) gmail (dot) com",
        "ik ben fatima el amrani. Fatima El Amrani, ja.",
    ]
    out = [r.text for r in scrub_conversation(turns, scrubber=scrubber)]
    assert out[0] == "Mijn nummer is [TELEFOON-1], mail [EMAIL-1]."
    assert out[1] == "nogmaals: [TELEFOON-1]"
    assert out[2] == "of [TELEFOON-1], of [EMAIL-1]"
    assert out[3] == "ik ben [PERSOON-1]. [PERSOON-1], ja."


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("bel 0 6 1 2 3 4 5 6 7 8", {"NUMMER"}),
        ("nul zes twaalf vierendertig zesenvijftig achtenzeventig", {"NUMMER"}),
        ("mijn bsn is 4537\u200b89651", {"NUMMER"}),
        ("sanne apenstaartje hotmail punt nl", {"EMAIL"}),
        ("lotte (at) ziggo (dot) nl", {"EMAIL"}),
        ("rekening nl05-ingb-0008-7654-32", {"IBAN"}),
        ("mijn naam is xiomara", {"PERSOON"}),
        ("ik ben fatima", {"PERSOON"}),
        ("gisteren zei Dylan dat", {"PERSOON"}),
        ("we wonen op de goyenstraat 21", {"ADRES"}),
        ("we wonen aan de dam 7", {"ADRES"}),
        ("postcode 2514 ea", {"POSTCODE"}),
    ],
)
def test_gate_reads_digits_and_words(text: str, types: set[str]) -> None:
    assert {f.type for f in residual_pii(text)} == types


def test_gate_findings_point_at_the_original_text() -> None:
    text = "Bel [TELEFOON-1] of ０６\u200b１２３４５６７８ of nul zes een twee drie vier vijf zes"
    found = residual_pii(text)
    assert [f.text for f in found] == [
        "０６\u200b１２３４５６７８",
        "nul zes een twee drie vier vijf zes",
    ]
    assert all(text[f.start : f.end] == f.text for f in found)
    assert not re.search(r"\[", "".join(f.text for f in found))
