"""The gentle privacy check before a role-play message is sent."""

from __future__ import annotations

import pytest

from workbench.services.training import personal_data_types


@pytest.mark.parametrize("text,kinds", [
    ("Bel me op 06-12345678 als hij weg is", ["TELEFOON"]),
    ("Ik woon op Kerkstraat 12a", ["ADRES"]),
    ("postcode 1234 AB", ["POSTCODE"]),
    ("mail me: sanne.devries@gmail.com", ["EMAIL"]),
    ("geboren 3 april 1992", ["DATUM"]),
    ("ik heet Samira de Vries", ["PERSOON"]),
    ("ik heet Samira", []),  # the persona's own (invented) name
    ("Bel 0800-2000 of 112, zegt de bot", []),  # helpline numbers are no personal data
    ("Hij heeft me gisteren geslagen.", []),
])
def test_what_gets_a_gentle_warning(text: str, kinds: list[str]) -> None:
    assert personal_data_types(text, fictional_names=["Samira (fictief)"]) == kinds


@pytest.mark.parametrize("text,kinds", [
    ("bel me op 06\u200b12\u200b34\u200b56\u200b78", ["TELEFOON"]),  # zero-width characters
    ("mijn nummer is nul zes een twee drie vier vijf zes zeven acht", ["TELEFOON"]),
    ("mail sanne(at)gmail(dot)com", ["EMAIL"]),
    ("ik ben fatima el amrani", ["PERSOON"]),
    ("we wonen op de goyenstraat 21", ["ADRES"]),
    ("bel \uff10\uff18\uff10\uff10-\uff12\uff10\uff10\uff10 of 112", []),  # full-width helpline
])
def test_the_live_check_sees_through_odd_writing(text: str, kinds: list[str]) -> None:
    assert personal_data_types(text, fictional_names=["Samira (fictief)"]) == kinds
