"""The Dutch PII scrubber: recall and kept-rate on tests/data/pii_cases.yaml, placeholders,
the helpline allowlist, the residual check and the regex recognisers one by one."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from workbench.domain.privacy import (
    FINDING_TYPES,
    SCRUBBER_VERSION,
    DeduceScrubber,
    Finding,
    Scrubber,
    ScrubContext,
    get_scrubber,
    merge_findings,
    residual_pii,
    scrub_conversation,
)
from workbench.domain.privacy_patterns import (
    find_patterns,
    is_helpline_number,
    passes_elfproef,
    passes_iban_check,
)

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "pii_cases.yaml").read_text(encoding="utf-8")
)["cases"]
RECALL_MIN = 0.95  # share of expected PII substrings that must be gone
KEPT_MIN = 1.0  # helpline numbers, organisations and PII-free texts: never touched
_TUSSENVOEGSELS = {"van", "de", "der", "den", "het", "ter", "ten", "el", "al"}
_PLACEHOLDER = re.compile(r"\[[A-Z]+-\d+\]")


@pytest.fixture(scope="module")
def scrubber() -> DeduceScrubber:
    return get_scrubber()


def _removed(pii: str, scrubbed: str) -> bool:
    """Gone means: the substring is absent, and so is each of its words of 4+ characters (so a
    surname left behind by a half-caught name counts as a miss)."""
    if pii in scrubbed:
        return False
    words = [w for w in re.findall(r"\w+", pii) if len(w) >= 4 and w not in _TUSSENVOEGSELS]
    plain = _PLACEHOLDER.sub(" ", scrubbed)
    return not any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", plain) for w in words)


def test_case_set_covers_every_category() -> None:
    assert len(CASES) >= 60
    ids = " ".join(c["id"] for c in CASES)
    for category in (
        "name-tussenvoegsel",
        "address",
        "postcode",
        "phone-plus31",
        "phone-0031",
        "phone-landline",
        "bsn",
        "iban-compact",
        "iban-groups",
        "kenteken",
        "email",
        "handle",
        "url",
        "date-dutch-month",
        "keep-",
        "none-",
    ):
        assert category in ids, category
    assert sum(c["id"].startswith("none-") for c in CASES) >= 10


def test_recall_and_kept_rate(scrubber: DeduceScrubber) -> None:
    expected = removed = to_keep = kept = 0
    misses: list[str] = []
    for case in CASES:
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
    recall, kept_rate = removed / expected, kept / to_keep
    print(
        f"\nPII recall {recall:.3f} ({removed}/{expected}); "
        f"kept-rate {kept_rate:.3f} ({kept}/{to_keep})"
    )
    print("\n".join(misses))
    assert recall >= RECALL_MIN, misses
    assert kept_rate >= KEPT_MIN, misses


def test_no_residual_pii_after_scrubbing(scrubber: DeduceScrubber) -> None:
    leftovers = {c["id"]: residual_pii(scrubber.scrub(c["text"]).text) for c in CASES}
    assert {k: v for k, v in leftovers.items() if v} == {}


def test_residual_pii_flags_what_is_left() -> None:
    text = "Bel 06-12345678, mail a@b.nl, NL91 ABNA 0417 1643 00, AB-123-C, 1234 AB, 111222333"
    assert {f.type for f in residual_pii(text)} >= {
        "NUMMER",
        "EMAIL",
        "IBAN",
        "KENTEKEN",
        "POSTCODE",
    }
    assert residual_pii("Bel [TELEFOON-1] of [PERSOON-12], of 0800-2000 of 112.") == []
    assert residual_pii("Kijk op https://www.veiligthuis.nl/hulp") == []
    assert residual_pii("Open 9.00-17.00, van 2019-2021, 1.500.000 euro, 2000 of meer") == []
    assert residual_pii("Bel 0800-2000/112.") == []
    assert [f.text for f in residual_pii("Bel 0612/345678 of 020/1234567")] == [
        "0612/345678",
        "020/1234567",
    ]


@pytest.mark.parametrize(
    "number",
    [
        "112",
        "0800-2000",
        "0800 2000",
        "08002000",
        "113",
        "0800-0113",
        "0800-0432",
        "0800-0188",
        "0900-8844",
        "0900-0101",
        "0900 0101",
        "+31 800 2000",
    ],
)
def test_helpline_numbers_are_never_scrubbed(scrubber: DeduceScrubber, number: str) -> None:
    assert is_helpline_number(number)
    for text in (f"Bel {number}.", f"{number}", f"Mijn nummer is 06-12345678, bel ook {number}"):
        assert number in scrubber.scrub(text).text
        assert residual_pii(text.replace("06-12345678", "")) == []


def test_placeholders_are_consistent_across_a_conversation(scrubber: DeduceScrubber) -> None:
    turns = [
        "Mijn ex Jeroen van Dijk belt me op 06-12345678.",
        "Ik heb geblokkeerd: 0612345678. Nu belt Kevin Smit.",
        "Jeroen van Dijk staat nu voor de deur, +31 6 12345678 belt weer.",
        "Jeroen zegt dat het mijn schuld is.",
    ]
    out = [r.text for r in scrub_conversation(turns, scrubber=scrubber)]
    assert out[0] == "Mijn ex [PERSOON-1] belt me op [TELEFOON-1]."
    assert out[1] == "Ik heb geblokkeerd: [TELEFOON-1]. Nu belt [PERSOON-2]."
    assert out[2] == "[PERSOON-1] staat nu voor de deur, [TELEFOON-1] belt weer."
    assert out[3] == "[PERSOON-1] zegt dat het mijn schuld is."
    # A new conversation starts numbering again.
    assert scrubber.scrub(turns[1], context=ScrubContext()).text.endswith("[PERSOON-1].")


def test_scrub_result_keeps_the_findings(scrubber: DeduceScrubber) -> None:
    result = scrubber.scrub("Mail sanne@gmail.com of bel 06-12345678.")
    assert [(f.type, f.text) for f in result.findings] == [
        ("EMAIL", "sanne@gmail.com"),
        ("TELEFOON", "06-12345678"),
    ]
    assert result.text == "Mail [EMAIL-1] of bel [TELEFOON-1]."
    assert scrubber.find("") == [] and scrubber.scrub("Hoi").findings == []
    assert isinstance(scrubber, Scrubber)
    assert {f.type for c in CASES for f in scrubber.find(c["text"])} <= set(FINDING_TYPES)
    assert SCRUBBER_VERSION


def test_scrubbing_twice_changes_nothing(scrubber: DeduceScrubber) -> None:
    for case in CASES:
        once = scrubber.scrub(case["text"]).text
        assert scrubber.scrub(once).text == once, case["id"]


class _FakeDeduce:
    """Stands in for deduce: tags fixed words, so the adapter is tested without its tables."""

    lookup_structs = {"first_name": [["Sanne"]]}

    def deidentify(self, text: str, disabled: frozenset[str]) -> Any:
        tags = {
            "Sanne": "persoon",
            "Dorpsweg 5": "locatie",
            "Zwolle": "locatie",
            "Haven": "persoon",
            "Fier": "persoon",
            "Amsterdam": "zorginstelling",
        }
        found = [
            SimpleNamespace(
                tag=tag,
                text=word,
                start_char=text.index(word),
                end_char=text.index(word) + len(word),
            )
            for word, tag in tags.items()
            if word in text
        ]
        return SimpleNamespace(annotations=found)


def test_deduce_adapter_maps_and_filters_tags() -> None:
    fake = DeduceScrubber(engine=_FakeDeduce, prefilter=False)
    text = "Haven is dicht. Sanne woont op Dorpsweg 5 in Zwolle, bij Fier in Amsterdam."
    assert [(f.type, f.text) for f in fake.find(text)] == [
        ("PERSOON", "Sanne"),
        ("ADRES", "Dorpsweg 5"),
        ("PLAATS", "Zwolle"),
    ]


def test_prefilter_gives_the_same_findings_as_always_running_deduce(
    scrubber: DeduceScrubber,
) -> None:
    always = DeduceScrubber(prefilter=False, cache_size=0)
    for case in CASES:
        assert scrubber.find(case["text"]) == always.find(case["text"]), case["id"]


def test_safe_words_are_in_no_deduce_name_or_place_list() -> None:
    from workbench.domain.privacy import SAFE_CAPITALISED, deduce_engine

    lookups = deduce_engine().lookup_structs
    for word in SAFE_CAPITALISED:
        for name in (
            "first_name",
            "surname",
            "placename",
            "street",
            "prefix",
            "initial",
            "interfix",
        ):
            found = (
                word in lookups[name]
                if name in ("prefix", "initial", "interfix")
                else [word] in lookups[name]
            )
            assert not found, (word, name)


def test_scrubber_is_shared_and_thread_safe() -> None:
    assert get_scrubber() is get_scrubber()
    results: list[str] = []
    texts = [c["text"] for c in CASES[:20]]

    def work() -> None:
        s = DeduceScrubber(cache_size=0)
        results.append("|".join(s.scrub(t).text for t in texts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1


def test_merge_findings_covers_overlaps_with_the_longest_type() -> None:
    text = "NL91 ABNA 0417 1643 00"
    merged = merge_findings(
        [Finding("NUMMER", 10, 22, text[10:22]), Finding("IBAN", 0, 22, text)], text
    )
    assert merged == [Finding("IBAN", 0, 22, text)]
    # A partial overlap: the union is covered, typed by the longer finding.
    partial = merge_findings(
        [Finding("PERSOON", 0, 6, "Jan va"), Finding("URL", 4, 9, "van.n")], "Jan van.nl"
    )
    assert partial == [Finding("PERSOON", 0, 9, "Jan van.n")]


@pytest.mark.parametrize(
    ("text", "type_"),
    [
        ("12-ABC-3", "KENTEKEN"),
        ("1-ABC-23", "KENTEKEN"),
        ("AB-123-C", "KENTEKEN"),
        ("A-123-BC", "KENTEKEN"),
        ("VGL-83-D", "KENTEKEN"),
        ("A-12-BCD", "KENTEKEN"),
        ("1-AB-234", "KENTEKEN"),
        ("123-AB-4", "KENTEKEN"),
        ("AB-12-34", "KENTEKEN"),
        ("12-34-AB", "KENTEKEN"),
        ("99-XX-99", "KENTEKEN"),
        ("AB-12-CD", "KENTEKEN"),
        ("AB-CD-12", "KENTEKEN"),
        ("12-AB-CD", "KENTEKEN"),
        ("NL91ABNA0417164300", "IBAN"),
        ("NL91 ABNA 0417 1643 00", "IBAN"),
        ("06-12345678", "TELEFOON"),
        ("0612345678", "TELEFOON"),
        ("010-1234567", "TELEFOON"),
        ("020 123 4567", "TELEFOON"),
        ("+31 6 12345678", "TELEFOON"),
        ("0031612345678", "TELEFOON"),
        ("+31 (0)20 1234567", "TELEFOON"),
        ("(010) 123 45 67", "TELEFOON"),
        ("111222333", "BSN"),
        ("1234 AB", "POSTCODE"),
        ("1234AB", "POSTCODE"),
        ("a.b@c.nl", "EMAIL"),
        ("@sanne_92", "HANDLE"),
        ("https://x.nl/jan", "URL"),
        ("3 april 1992", "DATUM"),
        ("03-04-1992", "DATUM"),
        ("1992-04-03", "DATUM"),
        ("5 mrt. 1988", "DATUM"),
    ],
)
def test_each_recogniser(text: str, type_: str) -> None:
    merged = merge_findings(find_patterns(f"zie {text} hier"), f"zie {text} hier")
    assert [(f.type, f.text) for f in merged] == [(type_, text)]


@pytest.mark.parametrize(
    "text",
    [
        "Ik ben 14 jaar.",
        "om 12.30 uur",
        "in 2019 en 2020",
        "2000 mg",
        "sinds 1995",
        "0800-2000",
        "bel 112",
        "versie 3.2.1",
        "thuis.Nu weet ik het",
        "ok.de rest",
        "top-10-lijst",
        "mijn insta is gehackt",
        "KL1234 naar Rabat",
        "1 op 1",
        "bel 0800-2000/112",
        "112/0800-0113",
    ],
)
def test_recognisers_leave_ordinary_text(text: str) -> None:
    assert find_patterns(text) == []


def test_validators() -> None:
    assert passes_elfproef("111222333") and passes_elfproef("1234.56.782")
    assert not passes_elfproef("123456789") and not passes_elfproef("000000000")
    assert passes_iban_check("NL91ABNA0417164300")
    assert not passes_iban_check("NL92ABNA0417164300")
