"""The prompt lab's pure rules: the diff, where the few-shot block goes (a second replaces the
first, an empty one removes it), what a typed text may be, and which checks flipped."""

from __future__ import annotations

from workbench.domain import lab as rules


def test_the_diff_is_unified_and_empty_for_equal_texts() -> None:
    diff = rules.prompt_diff("a\nb\n", "a\nc\n", current_name="warm", candidate_name="kort")
    assert diff.splitlines() == ["--- warm", "+++ kort", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
    assert rules.prompt_diff("same", "same") == ""


def test_a_second_fewshot_block_replaces_the_first_and_an_empty_one_removes_it() -> None:
    once = rules.with_fewshot("Je bent de chatbot.\n", "Vraag: x\nGoed antwoord: y")
    assert once == ("Je bent de chatbot.\n\n" + rules.FEWSHOT_BEGIN +
                    "\nVraag: x\nGoed antwoord: y\n" + rules.FEWSHOT_END + "\n")
    twice = rules.with_fewshot(once + "stijl: kort\n", "Vraag: z")
    assert twice.count(rules.FEWSHOT_BEGIN) == 1 and "Vraag: x" not in twice
    assert "Vraag: z" in twice and twice.endswith("stijl: kort\n")
    assert rules.with_fewshot(twice, "") == "Je bent de chatbot.\n\nstijl: kort\n"


def test_what_a_typed_text_may_be() -> None:
    assert rules.text_problem("ok", limit=10) is None
    assert rules.text_problem(" \n\t", limit=10) == "lab.error.empty"
    assert rules.text_problem("x" * 11, limit=10) == "lab.error.too_long"
    assert rules.text_problem("a\x00b", limit=10) == "lab.error.nul"


def test_flips_are_checks_decided_on_both_sides_that_differ() -> None:
    before = {"a": True, "b": False, "c": None, "d": True, "e": True}
    after = {"a": False, "b": True, "c": True, "d": True}
    found = rules.flips(before, after)
    assert [(f.key, f.direction) for f in found] == [("a", "pass_to_fail"),
                                                      ("b", "fail_to_pass")]
