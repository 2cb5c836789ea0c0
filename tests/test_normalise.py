"""The normalised view PII detection reads, and its map back to the original characters."""

from __future__ import annotations

import pytest

from workbench.domain.normalise import normalise, normalise_text
from workbench.domain.number_words import spelled_number_runs, word_digits


def test_plain_text_is_its_own_view() -> None:
    view = normalise("Bel 0800-2000, of mail info@veiligthuis.nl.")
    assert view.text == view.original and view.starts is None
    assert view.span(4, 13) == (4, 13)


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("06\u200b12345678", "0612345678"),
        ("06-1234\u00ad5678", "06-12345678"),
        ("4423\u206023220", "442323220"),
        ("\ufeffhoi", "hoi"),
        ("０６-１２３４５６７８", "06-12345678"),
        ("𝟎𝟔𝟏𝟐", "0612"),
        ("٠٦١٢", "0612"),
        ("06\u00a012\u202f34", "06 12 34"),
        ("06–12\u221234", "06-12-34"),
        ("sanne＠gmail．com", "sanne@gmail.com"),
        ("Am\u00adrani e\u0301", "Amrani é"),
    ],
)
def test_characters_are_folded(text: str, view: str) -> None:
    assert normalise_text(text) == view


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("sanne (at) gmail (dot) com", "sanne@gmail.com"),
        ("noor[at]hotmail[punt]nl", "noor@hotmail.nl"),
        ("lotte apenstaartje ziggo punt nl", "lotte@ziggo.nl"),
        ("john dot smith at outlook dot com", "john.smith@outlook.com"),
        ("fleur_99 @ live . nl", "fleur_99@live.nl"),
        ("daan.bos apenstaartje gmail", "daan.bos@gmail"),
        ("I was at school when he called", "I was at school when he called"),
        ("at work. de politie kwam", "at work. de politie kwam"),
        ("dat is het punt. com", "dat is het punt. com"),
        ("een apenstaartje? dat teken @ bedoel je?", "een apenstaartje? dat teken @ bedoel je?"),
    ],
)
def test_email_written_with_words(text: str, view: str) -> None:
    assert normalise_text(text) == view


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("nul zes een twee drie vier vijf zes zeven acht", "0612345678"),
        ("nul zes, twaalf, vierendertig, zesenvijftig, achtenzeventig", "0612345678"),
        ("zero six double one two two three three four four", "0611223344"),
        ("zero six twenty one, thirty four, five six seven", "062134567"),
        ("nul-zes-drie-drie-vier-vier-vijf-vijf-zes-zes!", "0633445566!"),
        ("nul zes - 1 2 3 4 - 5 6 7 8", "0612345678"),
        ("één twee drieëntwintig vierenveertig achtenvijftig", "12234458"),
        ("een, twee, drie keer", "een, twee, drie keer"),
        ("een 06-12345678", "een 06-12345678"),
        ("ik heb twee kinderen van zes en acht", "ik heb twee kinderen van zes en acht"),
    ],
)
def test_spelled_numbers(text: str, view: str) -> None:
    assert normalise_text(text) == view


def test_word_digits() -> None:
    assert [word_digits(w) for w in ("nul", "Twaalf", "vierendertig", "drieëntwintig")] == [
        "0", "12", "34", "23",
    ]  # fmt: skip
    assert word_digits("tig") is None and word_digits("eentje") is None
    (run,) = spelled_number_runs("bel nul zes 12 34 56 78 nu")
    assert (run.start, run.end, run.digits) == (4, 23, "0612345678")


def test_spans_map_back_to_what_was_typed() -> None:
    spelled = "nul zes twaalf vierendertig zesenvijftig achtenzeventig"
    text = f"Bel ０６\u200b１２３４５６７８ of mail sanne (at) gmail (dot) com of {spelled}"
    view = normalise(text)
    for typed in ("０６\u200b１２３４５６７８", "sanne (at) gmail (dot) com"):
        plain = normalise_text(typed)
        i = view.text.index(plain)
        start, end = view.span(i, i + len(plain))
        assert text[start:end] == typed
    i = view.text.rindex("0612345678")
    assert text[slice(*view.span(i, i + 10))] == spelled
    assert text[slice(*view.span(i + 2, i + 4))] == "twaalf"


def test_normalising_twice_changes_nothing() -> None:
    for text in ("06\u200b12 (at) x", "nul zes een twee drie vier vijf", "ik ben ｆａｔｉｍａ"):
        once = normalise_text(text)
        assert normalise_text(once) == once
