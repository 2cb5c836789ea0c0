"""`workbench scrub`: one line out per line in, same order; `--jsonl` adds findings."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from workbench.cli import app

LINES = [
    "Ik ben Sanne de Vries, bel me op 06-12345678.",
    "",
    "Bel bij gevaar 112 of Veilig Thuis op 0800-2000.",
    "Mijn mail is sanne.devries@gmail.com en ik woon in 1234 AB.",
    "Mijn man Jeroen van Dijk slaat mij. Ik ben bang voor Jeroen.",
]


def invoke(args: list[str], text: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["scrub", *args], input=text)


def test_line_in_line_out_in_order() -> None:
    result = invoke([], "\n".join(LINES) + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout.split("\n")
    assert out[-1] == "" and len(out) - 1 == len(LINES)
    assert out[0] == "Ik ben [PERSOON-1], bel me op [TELEFOON-1]."
    assert out[1] == ""
    assert out[2] == LINES[2]  # helpline numbers and names stay
    assert "gmail" not in out[3] and "1234 AB" not in out[3] and "[EMAIL-1]" in out[3]
    assert "Jeroen" not in out[4] and out[4].count("[PERSOON-1]") == 2


def test_lines_are_independent_unless_one_conversation() -> None:
    text = "Ik ben Sanne de Vries.\nMijn broer heet Karel Jansen.\n"
    apart = invoke([], text).stdout.splitlines()
    together = invoke(["--conversation"], text).stdout.splitlines()
    assert "[PERSOON-1]" in apart[1]
    assert "[PERSOON-2]" in together[1]


def test_last_line_without_newline() -> None:
    assert invoke([], "bel 06-12345678").stdout == "bel [TELEFOON-1]\n"


def test_jsonl_adds_findings_with_spans_of_the_input() -> None:
    rows = [{"text": t, "id": i} for i, t in enumerate(LINES) if t]
    text = "\n".join(json.dumps(r) for r in rows[:2]) + "\n\n" + \
        "\n".join(json.dumps(r) for r in rows[2:]) + "\n"
    result = invoke(["--jsonl"], text)
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("\n")[:-1]
    assert len(lines) == len(rows) + 1 and lines[2] == ""
    out = [json.loads(x) for x in lines if x]
    assert [o["id"] for o in out] == [r["id"] for r in rows]
    first = out[0]
    assert first["text"] == "Ik ben [PERSOON-1], bel me op [TELEFOON-1]."
    spans = [(f["type"], LINES[0][f["start"]:f["end"]]) for f in first["findings"]]
    assert spans == [("PERSOON", "Sanne de Vries"), ("TELEFOON", "06-12345678")]
    assert all(set(f) == {"type", "start", "end"} for o in out for f in o["findings"])
    assert out[1]["findings"] == [] and out[1]["text"] == LINES[2]


def test_jsonl_conversation_field_shares_numbers() -> None:
    rows = [{"text": "Ik ben Sanne de Vries.", "conversation": "c1"},
            {"text": "Ik ben Karel Jansen.", "conversation": "c2"},
            {"text": "Karel Jansen en Sanne de Vries.", "conversation": "c1"}]
    out = [json.loads(x) for x in invoke(
        ["--jsonl"], "\n".join(json.dumps(r) for r in rows) + "\n").stdout.splitlines()]
    assert out[1]["text"] == "Ik ben [PERSOON-1]."
    assert out[2]["text"] == "[PERSOON-2] en [PERSOON-1]."


def test_jsonl_rejects_a_line_without_text() -> None:
    result = invoke(["--jsonl"], '{"text": "ok"}\n{"tekst": "x"}\n')
    assert result.exit_code == 1
    assert "line 2" in result.output
