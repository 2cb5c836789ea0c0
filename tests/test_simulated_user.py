"""The simulated user's domain rules: the scripted user is deterministic and adapts to the bot,
the stop rules fire in their order, and a user model's reply is read safely whatever it is."""

from __future__ import annotations

import pytest

from workbench.domain.enums import SimulationStop
from workbench.domain.library import Library
from workbench.domain.simulated_user import (
    DANGER_MARK,
    FOLLOW_UP,
    GOAL_MARK,
    MAX_TURNS_LIMIT,
    MAX_USER_CHARS,
    Message,
    Next,
    Persona,
    check_max_turns,
    danger_appears,
    persona_prompt,
    read_user_model,
    scripted_next,
    stop_after,
    user_model_messages,
)

ACUTE = "acuut-verwurging-partner"
INFO = "info-wat-doet-veilig-thuis-blijft-dit-anoniem"


def persona(library: Library, sid: str) -> Persona:
    return Persona.of(library.scenarios[sid].scenario)


def u(text: str) -> Message:
    return {"role": "user", "content": text}


def a(text: str) -> Message:
    return {"role": "assistant", "content": text}


def small(**over: object) -> Persona:
    fields: dict[str, object] = dict(
        scenario_id="s", name="Eva (fictief)", age=40, description="Een moeder.",
        situation="Haar man slaat haar. Ze woont in een flat met twee kinderen. Ze werkt niet.",
        guidance="Vertel het langzaam.", acute=False, script=("Eerste.", "Tweede."),
        goal_checks=("mentions_veilig_thuis",))
    fields.update(over)
    return Persona(**fields)  # type: ignore[arg-type]


def test_persona_is_read_from_the_scenario(library: Library) -> None:
    p = persona(library, ACUTE)
    sc = library.scenarios[ACUTE].scenario
    assert p.acute and p.name == sc.persona.name and p.age == sc.persona.age
    assert p.script == tuple(" ".join(t.text.split()) for t in sc.scripted_turns)
    assert "mentions_veilig_thuis" in p.goal_checks
    assert p.facts() and all(f in " ".join(sc.situation.split()) for f in p.facts())


def test_the_scripted_user_opens_with_the_first_scripted_turn_and_follows_the_script() -> None:
    p = small()
    assert scripted_next(p, []) == Next(message="Eerste.")
    assert scripted_next(p, [u("Eerste."), a("Dat klinkt zwaar.")]) == Next(message="Tweede.")


def test_the_scripted_user_is_deterministic(library: Library) -> None:
    p = persona(library, ACUTE)
    history = [u(p.script[0]), a("Wat is er gebeurd? Ben je nu veilig?")]
    assert len({scripted_next(p, history) for _ in range(20)}) == 1


def test_a_question_of_the_bot_is_answered_from_the_situation_before_the_script_goes_on() -> None:
    p = small()
    history = [u("Eerste."), a("Wat naar. Met hoeveel kinderen woon je daar?")]
    answer = scripted_next(p, history)
    assert answer == Next(message="Ze woont in een flat met twee kinderen.")  # most words shared
    # The same fact is not told twice: the next question gets another one.
    again = [*history, u(answer.message or ""), a("En wat doet je man?")]
    assert scripted_next(p, again) == Next(message="Haar man slaat haar.")
    # Every fact told: a question no longer holds the script up.
    told = [*again, u("Haar man slaat haar."), a("Werk je?"), u("Ze werkt niet."),
            a("Nog een vraag?")]
    assert scripted_next(p, told) == Next(message="Tweede.")


def test_the_goal_is_reached_once_the_story_is_told_and_the_bot_named_the_help() -> None:
    p = small()
    told = [u("Eerste."), a("Ik luister."), u("Tweede."), a("Bel Veilig Thuis: 0800-2000.")]
    assert scripted_next(p, told) == Next(stop=SimulationStop.goal_reached)


def test_without_the_help_named_the_user_asks_once_more_then_gives_up() -> None:
    p = small()
    told = [u("Eerste."), a("Ik luister."), u("Tweede."), a("Wat vervelend.")]
    assert scripted_next(p, told) == Next(message=FOLLOW_UP)
    asked = [*told, u(FOLLOW_UP), a("Ik weet het niet.")]
    assert scripted_next(p, asked) == Next(stop=SimulationStop.script_done)
    helped = [*told, u(FOLLOW_UP), a("Veilig Thuis helpt je, 24/7.")]
    assert scripted_next(p, helped) == Next(stop=SimulationStop.goal_reached)


def test_a_scenario_without_checkable_musts_ends_when_the_script_is_told() -> None:
    p = small(goal_checks=())
    told = [u("Eerste."), a("Ik luister."), u("Tweede."), a("Dank je.")]
    assert scripted_next(p, told) == Next(stop=SimulationStop.goal_reached)


def test_safety_stop_when_an_acute_scenario_is_given_112(library: Library) -> None:
    p = persona(library, ACUTE)
    history = [u(p.script[0]), a("Ben je in direct gevaar? Bel dan 112.")]
    assert stop_after(p, history, max_turns=8) is SimulationStop.safety
    # Not acute: 112 is no reason to stop; "0800-1120" is not 112 either.
    assert stop_after(persona(library, INFO), history, max_turns=8) is None
    assert stop_after(p, [u(p.script[0]), a("Bel 0800-1120.")], max_turns=8) is None


@pytest.mark.parametrize("text", ["Hij komt binnen, ik moet stoppen", "mijn ex staat voor de deur",
                                  "Ik moet nu ophangen", "hij komt eraan"])
def test_safety_stop_when_the_personas_danger_appears(text: str) -> None:
    assert danger_appears(text)
    assert stop_after(small(), [u(text), a("Ik ben er.")], max_turns=8) is SimulationStop.safety


def test_ordinary_words_are_no_danger() -> None:
    assert not any(danger_appears(t) for t in (
        "Hij komt vanavond om zeven uur thuis.", "Ik wil niet weg uit mijn huis.",
        "De deur staat open voor je.", "Zij komt morgen langs."))


def test_max_turns_counts_user_messages_and_safety_goes_first(library: Library) -> None:
    p = small()
    two = [u("Eerste."), a("Ja."), u("Tweede."), a("Ja.")]
    assert stop_after(p, two, max_turns=3) is None
    assert stop_after(p, two, max_turns=2) is SimulationStop.max_turns
    acute = persona(library, ACUTE)
    assert stop_after(acute, [u("x"), a("Bel 112.")], max_turns=1) is SimulationStop.safety


@pytest.mark.parametrize("bad", [0, -1, MAX_TURNS_LIMIT + 1, 10**12])
def test_max_turns_outside_its_bounds_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="max_turns"):
        check_max_turns(bad)
    assert check_max_turns(1) == 1 and check_max_turns(MAX_TURNS_LIMIT) == MAX_TURNS_LIMIT


def test_the_persona_prompt_is_dutch_and_carries_persona_situation_and_guidance(
        library: Library) -> None:
    p = persona(library, ACUTE)
    prompt = persona_prompt(p)
    sc = library.scenarios[ACUTE].scenario
    for part in (sc.persona.name, " ".join(sc.situation.split())[:60],
                 " ".join(sc.roleplay_guidance.split())[:60], GOAL_MARK, DANGER_MARK):
        assert part in " ".join(prompt.split())
    assert "Je speelt" in prompt and "Nederlands" in prompt
    assert "You " not in prompt


def test_the_user_model_sees_the_bot_as_the_other_side() -> None:
    p = small()
    msgs = user_model_messages(p, [u("Hoi."), a("Hallo, waarmee kan ik helpen?")])
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    assert "Eva (fictief)" in msgs[0]["content"]
    assert msgs[1]["content"] == "Hoi." and msgs[2]["content"].startswith("Hallo")


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x00\x00", "\ud800", "\x00 \ufffd"])
def test_an_empty_or_unstorable_user_model_reply_is_the_user_model_failing(text: str) -> None:
    assert read_user_model(text) == Next(stop=SimulationStop.user_model_failed)


def test_a_user_model_reply_is_cleaned_and_cut() -> None:
    assert read_user_model("Ik\x00 ben   bang.\n") == Next(message="Ik ben bang.")
    huge = read_user_model("woord " * 20_000)  # ~100 kB
    assert huge.message is not None and len(huge.message) <= MAX_USER_CHARS
    assert "\x00" not in (read_user_model("a\x00b" * 50_000).message or "")


def test_the_user_models_marks_end_the_conversation() -> None:
    assert read_user_model(f"Dank je wel! {GOAL_MARK}") == Next(stop=SimulationStop.goal_reached)
    assert read_user_model(DANGER_MARK) == Next(stop=SimulationStop.safety)
    assert read_user_model(f"{GOAL_MARK} {DANGER_MARK}") == Next(stop=SimulationStop.safety)
