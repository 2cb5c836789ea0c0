"""The offline reference bot: safety rules first, honest, deterministic, steerable by prompt."""

from __future__ import annotations

import asyncio
import re

import pytest

from workbench.bots import BASELINE_LABEL, ReferenceBot, ReplyRequest
from workbench.bots.reference import PromptSettings, load_knowledge_base, normalize

# The numbers of DOMAIN.md, as the bot must write them.
ALLOWED_NUMBERS = {"112", "113", "0800-2000", "0900-8844", "0800-0432", "0800-0113", "0800-0188",
                   "0900-0101"}  # fmt: skip
PHONE_LIKE = re.compile(r"\b(?:0[89]00[\s-]?\d{3,4}|\d{3})\b")

VICTIM_MESSAGES = [
    "Hallo",
    "Mijn man slaat me als hij gedronken heeft",
    "Mijn vriend controleert mijn telefoon en ik mag mijn vriendinnen niet meer zien",
    "Kan ik hier een melding doen?",
    "Is deze chat anoniem?",
    "Ik ben leerkracht en maak me zorgen over een leerling",
    "Ik hoor de buren vaak schreeuwen",
    "Ik ben verkracht door mijn ex",
    "Mijn familie wil dat ik ga trouwen met iemand die ik niet ken",
    "Ik weet niet of het erg genoeg is",
    "Mijn oma geeft al haar geld aan mijn oom, ze is dement",
    "Ik word soms zo boos dat ik mijn vrouw sla",
    "Hoe wis ik mijn geschiedenis?",
    "Hij heeft me gisteren gewurgd",
    "Ik wil niet meer leven",
    "Ik ben 12 en mijn moeder slaat mij",
    "asdfgh",
]


def request(
    text: str, *, system_prompt: str = "", history: list[str] | None = None
) -> ReplyRequest:
    """A request whose conversation is `history` (alternating user/assistant) plus `text`."""
    roles = ["user", "assistant"]
    messages = [{"role": roles[i % 2], "content": m} for i, m in enumerate(history or [])]
    messages.append({"role": "user", "content": text})
    return ReplyRequest(system_prompt=system_prompt, messages=messages, prompt_version_hash="t")


def reply(text: str, **kwargs: object) -> str:
    return ReferenceBot().reply_text(request(text, **kwargs))  # type: ignore[arg-type]


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.?!])\s", text, maxsplit=1)[0]


@pytest.mark.parametrize(
    "message",
    [
        "Hij heeft me vannacht verwurgd, ik kreeg geen lucht",
        "Hij kneep mijn keel dicht",
        "Hij zegt steeds: ik vermoord je. Ik denk dat hij me vermoordt",
        "Hij heeft een mes gepakt",
        "Hij staat voor de deur en bonkt op de deur",
        "Mijn buurman slaat zijn kind nu, ik hoor het gillen",
        "Hij slaat me nu, ik ben zo bang",
    ],
)
def test_acute_danger_puts_112_before_anything_else(message: str) -> None:
    text = reply(message)
    assert "112" in first_sentence(text)
    assert text.index("112") < text.index("0800-2000")
    assert text.endswith("Ben je nu op een veilige plek?")  # a short immediate-safety check


def test_strangulation_is_named_as_life_threatening_and_a_doctor_advised() -> None:
    text = reply("Mijn man heeft me gisteren gewurgd")
    assert "levensgevaarlijk" in text and "arts" in text


@pytest.mark.parametrize(
    "message",
    ["Ik wil niet meer leven", "Ik denk aan zelfmoord", "Soms wil ik er een eind aan maken"],
)
def test_suicidality_refers_to_113(message: str) -> None:
    text = reply(message)
    assert "113" in text and "0800-0113" in text


def test_child_writer_is_sent_to_kindertelefoon_and_veilig_thuis() -> None:
    text = reply("Ik ben 11 en mijn vader slaat mij")
    assert "Kindertelefoon" in text and "0800-0432" in text and "0800-2000" in text
    assert "112" not in first_sentence(text)


def test_child_writer_in_acute_danger_gets_112_and_kindertelefoon() -> None:
    text = reply("Ik ben 13. Papa heeft een mes en is heel boos")
    assert "112" in first_sentence(text)
    assert "0800-0432" in text


def test_a_worried_adult_about_a_child_gets_veilig_thuis() -> None:
    text = reply("Ik maak me zorgen om het zoontje van de buren, hij heeft vaak blauwe plekken")
    assert "0800-2000" in text and "anoniem" in text


def test_melding_cannot_be_made_in_the_chat() -> None:
    text = reply("Kan ik via deze chat een melding doen?")
    assert "geen melding" in text and "0800-2000" in text


def test_professional_gets_the_meldcode_steps() -> None:
    text = reply("Ik werk als huisarts, hoe werkt de meldcode?")
    assert all(f"{n}:" in text for n in range(1, 6))
    assert "geen meldplicht" in text


@pytest.mark.parametrize("message", VICTIM_MESSAGES)
def test_never_asks_who_or_where_and_never_claims_to_be_human(message: str) -> None:
    text = normalize(reply(message))
    assert not re.search(r"\b(naam|adres|bsn|woon je|woont u|waar woon)", text)
    assert not re.search(r"\bik ben (een|echt een) (mens|medewerker|hulpverlener)\b", text)


@pytest.mark.parametrize("message", VICTIM_MESSAGES)
def test_first_reply_says_it_is_an_ai_that_stores_nothing(message: str) -> None:
    text = reply(message)
    assert "computerprogramma (AI)" in text
    assert "bewaar niets" in text


@pytest.mark.parametrize("message", VICTIM_MESSAGES)
def test_only_correct_helpline_numbers_appear(message: str) -> None:
    found = set(PHONE_LIKE.findall(reply(message, system_prompt="stijl: uitgebreid")))
    assert found <= ALLOWED_NUMBERS


def test_knowledge_base_texts_only_hold_correct_numbers() -> None:
    kb = load_knowledge_base()
    texts = [*kb.texts.values(), kb.suicide.line, *(t.line for t in kb.acute)]
    for entry in (*kb.entries, kb.fallback):
        texts += [entry.validate, entry.reply, entry.more, entry.step]
    assert set(PHONE_LIKE.findall(" ".join(texts))) <= ALLOWED_NUMBERS
    assert not re.search(r"\b(naam|adres|bsn)\b", normalize(" ".join(texts)))


def test_is_deterministic() -> None:
    message = "Mijn man controleert mijn telefoon"
    assert {ReferenceBot().reply_text(request(message)) for _ in range(5)} == {reply(message)}


def test_two_system_prompts_give_different_replies() -> None:
    message = "Mijn man slaat me"
    short = reply(message, system_prompt="Je bent de Veilig Thuis-bot.\nstijl: kort")
    long = reply(message, system_prompt="Je bent de Veilig Thuis-bot.\nStijl: uitgebreid")
    plain = reply(message, system_prompt="Je bent de Veilig Thuis-bot.")
    assert len({short, long, plain}) == 3
    assert len(short) < len(plain) < len(long)
    assert plain == reply(message)  # prompt text without settings lines changes nothing


def test_greeting_and_sign_off_come_from_the_system_prompt() -> None:
    text = reply("Mijn man slaat me", system_prompt="groet: Goedendag.\nafsluiting: Sterkte!")
    assert text.startswith("Goedendag.")
    assert text.endswith("Sterkte!")
    acute = reply("Hij heeft een mes", system_prompt="groet: Goedendag.")
    assert acute.startswith("Bel meteen 112")  # safety is never pushed back by a greeting


def test_prompt_settings_parse_aliases_and_ignore_unknown_styles() -> None:
    assert PromptSettings.parse("STYLE: long\nsign-off: Bye") == PromptSettings(
        greeting=None, sign_off="Bye", style="uitgebreid"
    )
    assert PromptSettings.parse("stijl: poëtisch").style == "standaard"


def test_second_turn_moves_on_instead_of_repeating() -> None:
    first = reply("Mijn man slaat me")
    second = reply("Hij slaat me vaak", history=["Mijn man slaat me", first])
    assert second != first
    assert "computerprogramma" not in second  # said once, on the first turn


def test_streams_word_chunks_and_fills_provenance() -> None:
    bot = ReferenceBot()
    req = request("Mijn man slaat me", system_prompt="stijl: kort")
    stream = bot.stream(req)
    chunks = list(stream)
    assert len(chunks) > 10 and all(c.strip() for c in chunks)
    assert "".join(chunks) == stream.result.text == bot.reply_text(req)
    provenance = stream.result.provenance
    assert provenance.model == "reference-v1"
    assert provenance.bot_kind == "reference"
    assert provenance.parameters["style"] == "kort"
    assert provenance.prompt_version_hash == "t"


def test_async_path_gives_the_same_reply() -> None:
    bot = ReferenceBot()
    req = request("Is deze chat anoniem?")
    assert asyncio.run(bot.acomplete(req)).text == bot.complete(req).text
    bot.close()
    asyncio.run(bot.aclose())  # every bot can be released the same way


def test_baseline_label_in_dutch_and_english() -> None:
    assert set(BASELINE_LABEL) == {"nl", "en"}
    assert "taalmodel" in BASELINE_LABEL["nl"] and "language model" in BASELINE_LABEL["en"]


def test_strangulation_in_everyday_words_leads_with_112() -> None:
    from workbench.bots import ReferenceBot, ReplyRequest

    bot = ReferenceBot()
    for text in ["Hij heeft me gisteren bij mijn keel gepakt", "hij greep me bij de keel"]:
        reply = bot.reply_text(ReplyRequest(system_prompt="", prompt_version_hash="x",
                                            messages=[{"role": "user", "content": text}]))
        assert reply.index("112") < 60 and "levensgevaarlijk" in reply
