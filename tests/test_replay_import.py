"""Issue 13 items 4 and 9: imported production transcripts are scrubbed before they are stored
(unless the importer opts out, audited); an import is idempotent and streaming, and every bad
line is reported with its number while the rest imports. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from workbench.domain.privacy import SCRUBBER_VERSION
from workbench.services.evaluation import _replay as replay
from workbench.services.evaluation import import_transcripts
from workbench.storage.tables import AuditEvent, Conversation, PromptVersion, Turn

# Personal data the scrubber finds, and the fragments that must never be stored.
PII_USER = ("Ik ben Jan de Vries, bel me op 06-12345678 of mail jan.devries@example.nl. "
            "Ik woon op Kerkstraat 12a, 1234 AB Utrecht. Mijn BSN is 111222333.")
PII_REPLY = "Dank je, Jan de Vries. Bel Veilig Thuis op 0800-2000, of 112 bij direct gevaar."
RAW = ["Vries", "12345678", "devries", "Kerkstraat", "1234 AB", "111222333", "Pieter",
       "Bakker", "31612345678", "ABNA", "0417 1643"]


def conversation(cid: str | None, user: str, reply: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": [{"role": "user", "content": user},
                                        {"role": "assistant", "content": reply}], **extra}
    if cid is not None:
        out["id"] = cid
    return out


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"\n".join(r if isinstance(r, bytes) else json.dumps(r).encode()
                                for r in rows) + b"\n")
    return path


def pii_files(tmp_path: Path) -> tuple[Path, Path]:
    jsonl = write_jsonl(tmp_path / "prod.jsonl", [
        {"id": "jan.devries@example.nl", "metadata": {
            "caller": "Pieter Bakker", "phone": 31612345678, "prompt_label": "prod",
            "notes": ["IBAN NL91 ABNA 0417 1643 00"], "Pieter Bakker": "sleutel"},
         "messages": [{"role": "system", "content": "Je helpt Jan de Vries."},
                      {"role": "user", "content": PII_USER},
                      {"role": "assistant", "content": PII_REPLY}]},
        conversation("prod-2", "Mijn buurman Pieter Bakker slaat zijn kinderen.",
                     "Wat naar dat je dit ziet. Je kunt Veilig Thuis bellen: 0800-2000."),
    ])
    csv = tmp_path / "prod.csv"
    csv.write_text("conversation_id,turn,role,content\n"
                   f'0612345678,1,user,"{PII_USER}"\n'
                   f'0612345678,2,assistant,"{PII_REPLY}"\n', encoding="utf-8")
    return jsonl, csv


def every_stored_value(engine: sa.Engine) -> list[str]:
    """Each value of every row of every table, as text (JSON included)."""
    out = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                out += [json.dumps(v, ensure_ascii=False, default=str) for v in row]
    return out


def test_imported_personal_data_never_reaches_the_database(engine, tmp_path) -> None:
    jsonl, csv = pii_files(tmp_path)
    first = import_transcripts(engine=engine, path=jsonl, actor="tester")
    second = import_transcripts(engine=engine, path=csv, actor="tester")
    assert (first.conversations, second.conversations) == (2, 1)
    assert first.problems == [] and second.problems == []
    assert {"PERSOON", "TELEFOON", "EMAIL", "ADRES", "POSTCODE", "BSN"} <= set(first.findings)
    stored = "\n".join(every_stored_value(engine)).casefold()
    leaked = [r for r in RAW if r.casefold() in stored]
    assert leaked == []
    if engine.dialect.name == "sqlite":  # and not in any page of the file, nor its WAL
        db = Path(str(engine.url.database))
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                data = path.read_bytes().lower()
                assert [r for r in RAW if r.casefold().encode() in data] == [], path
    with Session(engine) as s:
        convs = {c.external_id: c for c in s.exec(select(Conversation))}
        assert set(convs) == {"[EMAIL-1]", "prod-2", "[TELEFOON-1]"}
        conv = convs["[EMAIL-1]"]
        user, reply = s.exec(select(Turn).where(Turn.conversation_id == conv.id)
                             .order_by(Turn.index)).all()
        # One context per conversation: the same person is the same placeholder throughout.
        assert user.content.startswith("Ik ben [PERSOON-1], bel me op [TELEFOON-1]")
        assert reply.content.startswith("Dank je, [PERSOON-1].") and "0800-2000" in reply.content
        assert conv.meta["caller"] == "[PERSOON-2]"
        assert re.fullmatch(r"\[[A-Z]+-\d\]", conv.meta["phone"])  # a number is scrubbed too
        assert conv.meta["notes"] == ["IBAN [IBAN-1]"]
        assert "[PERSOON-2]" in conv.meta  # a key is scrubbed like a value
        assert conv.meta["workbench_import"] == {"file": "prod.jsonl", "line": 1,
                                                 "scrubbed": True, "scrubber": SCRUBBER_VERSION}
        prompts = [p.content for p in s.exec(select(PromptVersion))]
        assert "Je helpt [PERSOON-1]." in prompts


def test_opting_out_stores_the_text_as_it_is_and_the_choice_is_audited(engine, tmp_path
                                                                       ) -> None:
    jsonl, _ = pii_files(tmp_path)
    report = import_transcripts(engine=engine, path=jsonl, scrub=False, actor="cli:lotte")
    assert report.conversations == 2 and not report.scrubbed and report.findings == {}
    with Session(engine) as s:
        texts = [t.content for t in s.exec(select(Turn))]
        events = s.exec(select(AuditEvent).where(AuditEvent.action.startswith("import."))
                        .order_by(AuditEvent.id)).all()
        metas = [c.meta["workbench_import"] for c in s.exec(select(Conversation))]
    assert PII_USER in texts
    assert [e.action for e in events] == ["import.transcripts.start", "import.transcripts"]
    start, done = events
    assert start.actor == done.actor == "cli:lotte"
    assert start.details["scrubbed"] is False and "skipped" in start.details["scrubbing"]
    assert start.details["file"] == "prod.jsonl"
    assert done.details["conversations"] == 2 and done.details["turns"] == 4
    assert done.details["import_id"] == start.details["import_id"]
    assert all(m["scrubbed"] is False and "scrubber" not in m for m in metas)


def test_the_default_import_audits_that_it_scrubbed(engine, tmp_path) -> None:
    _, csv = pii_files(tmp_path)
    import_transcripts(engine=engine, path=csv, actor="tester")
    with Session(engine) as s:
        start = s.exec(select(AuditEvent).where(
            AuditEvent.action == "import.transcripts.start")).one()
    assert start.details["scrubbed"] is True and start.details["scrubber"] == SCRUBBER_VERSION


def _counts(engine: sa.Engine) -> tuple[int, int]:
    with Session(engine) as s:
        return (len(s.exec(select(Conversation.id)).all()), len(s.exec(select(Turn.id)).all()))


def test_importing_the_same_file_twice_adds_nothing_the_second_time(engine, tmp_path) -> None:
    rows = [conversation(f"c-{i}", f"Vraag {i}", f"Antwoord {i}") for i in range(5)]
    rows.append(conversation(None, "Zonder id", "Toch een antwoord"))
    jsonl = write_jsonl(tmp_path / "a.jsonl", rows)
    first = import_transcripts(engine=engine, path=jsonl, scrub=False)
    assert (first.conversations, first.turns, first.already_imported) == (6, 12, 0)
    again = import_transcripts(engine=engine, path=jsonl, scrub=False)
    assert (again.conversations, again.turns, again.already_imported) == (0, 0, 6)
    assert again.problems == []
    # The same conversations under another file name, with Windows line ends in the text
    # and new metadata: still the same conversations.
    renamed = write_jsonl(tmp_path / "export-2.jsonl", [
        {**r, "metadata": {"exported": "today"},
         "messages": [{**m, "content": " " + m["content"] + "\r\n"} for m in r["messages"]]}
        for r in rows])
    third = import_transcripts(engine=engine, path=renamed, scrub=False)
    assert (third.conversations, third.already_imported) == (0, 6)
    assert _counts(engine) == (6, 12)
    csv = tmp_path / "a.csv"
    csv.write_text("conversation_id,turn,role,content\nx,1,user,Hoi\nx,2,assistant,Hallo\n")
    assert import_transcripts(engine=engine, path=csv, scrub=False).conversations == 1
    assert import_transcripts(engine=engine, path=csv, scrub=False).already_imported == 1
    assert _counts(engine) == (7, 14)


def test_two_imports_of_one_file_at_once_store_each_conversation_once(engine, tmp_path
                                                                      ) -> None:
    jsonl = write_jsonl(tmp_path / "a.jsonl", [conversation(f"c-{i}", f"Vraag {i}", "Ja")
                                               for i in range(120)])
    barrier = threading.Barrier(2)
    reports: list[replay.ImportReport] = []

    def run() -> None:
        barrier.wait()
        reports.append(import_transcripts(engine=engine, path=jsonl, scrub=False,
                                          batch_size=10))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(reports) == 2
    assert sum(r.conversations for r in reports) == 120
    assert sum(r.already_imported for r in reports) == 120
    assert _counts(engine) == (120, 240)


def test_a_killed_import_keeps_its_batches_and_running_it_again_completes_it(
        engine, tmp_path, monkeypatch) -> None:
    jsonl = write_jsonl(tmp_path / "a.jsonl", [conversation(f"c-{i}", f"Vraag {i}", "Ja")
                                               for i in range(50)])
    real = replay._prepare
    calls = {"n": 0}

    def dies_at_the_23rd(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 23:
            raise KeyboardInterrupt  # as a Ctrl-C (or a kill) in the middle of a batch
        return real(*args, **kwargs)

    monkeypatch.setattr(replay, "_prepare", dies_at_the_23rd)
    with pytest.raises(KeyboardInterrupt):
        import_transcripts(engine=engine, path=jsonl, scrub=False, batch_size=10)
    assert _counts(engine) == (20, 40)  # the two whole batches, nothing of the third
    monkeypatch.setattr(replay, "_prepare", real)
    again = import_transcripts(engine=engine, path=jsonl, scrub=False, batch_size=10)
    assert (again.conversations, again.already_imported) == (30, 20)
    assert _counts(engine) == (50, 100)


def test_hostile_jsonl_lines_are_reported_with_their_line_and_the_rest_imports(
        engine, tmp_path) -> None:
    deep_meta: dict[str, Any] = {"x": 1}
    for _ in range(40):
        deep_meta = {"x": deep_meta}
    good = conversation("g-1", "Hoi", "Hallo, waarmee kan ik helpen?")
    path = write_jsonl(tmp_path / "hostile.jsonl", [
        good,                                                                      # 1
        conversation("big", "x" * (10 * 1024 * 1024), "Dat is veel."),             # 2
        b"[" * 100_000,                                                            # 3
        {**conversation("deep", "a", "b"), "metadata": deep_meta},                 # 4
        b'{"id": "nul", "messages": [{"role": "user", "content": "a\x00b"}]}',     # 5
        conversation("esc", "a\u0000b", "ok"),                                     # 6
        b'{"id": "sur", "messages": [{"role": "user", "content": "a\\ud800"},'
        b' {"role": "assistant", "content": "ok"}]}',                              # 7
        b'{"id": "utf", "messages": [{"role": "user", "content": "caf\xe9"}]}',    # 8
        {"id": "user-only", "messages": [{"role": "user", "content": "Alleen ik"}]},  # 9
        conversation("g-2", "Nog een vraag", "Nog een antwoord"),                  # 10
        good,                                                                      # 11
        b"",                                                                       # 12
        {"messages": [{"role": "user", "content": "x"}], "id": {"a": 1}},          # 13
    ])
    with path.open("ab") as fh:  # the last line without its newline still counts
        fh.write(json.dumps(conversation("g-3", "Laatste", "Regel")).encode())
    report = import_transcripts(engine=engine, path=path, scrub=False)
    assert report.conversations == 3 and report.turns == 6
    by_line = {int(p.split(":")[0].removeprefix("line ")): p for p in report.problems}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9, 11, 13]
    assert "10.0 MB" in by_line[2] and "nested too deeply" in by_line[3]
    assert "deeper than 16 levels" in by_line[4] and "NUL byte" in by_line[5]
    assert "NUL or a lone surrogate" in by_line[6] and "NUL or a lone surrogate" in by_line[7]
    assert "UTF-8" in by_line[8] and "user-only" in by_line[9]
    assert "the same conversation as line 1" in by_line[11]
    with Session(engine) as s:
        ids = sorted(str(c.external_id) for c in s.exec(select(Conversation)))
    assert ids == ["g-1", "g-2", "g-3"]


def test_a_huge_line_is_read_in_chunks_never_whole(engine, tmp_path) -> None:
    path = write_jsonl(tmp_path / "huge.jsonl", [
        conversation("big", "x" * (40 * 1024 * 1024), "Dat is veel."),
        conversation("small", "Hoi", "Hallo")])
    tracemalloc.start()
    try:
        report = import_transcripts(engine=engine, path=path, scrub=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.conversations == 1 and report.problems[0].startswith("line 1: longer than")
    assert peak < 12 * 1024 * 1024, f"{peak / 1e6:.0f} MB held for a 40 MB line"


def test_hostile_csv_rows_are_reported_and_whole_conversations_left_out(engine, tmp_path
                                                                        ) -> None:
    big = "x" * (3 * 1024 * 1024)
    many_lines = "\n".join(["een regel van een heel lang bericht"] * 80_000)  # > 2 MB
    path = tmp_path / "hostile.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("conversation_id,turn,role,content\n"                        # 1
                 "a,1,user,Hoi\na,2,assistant,Hallo\n"                        # 2, 3
                 f'b,1,user,"{big}"\nb,2,assistant,Antwoord\n'                # 4, 5
                 "c,1,user,Alleen een vraag\n"                                # 6
                 "d,1,user,Vraag\nd,1,assistant,Antwoord\n"                   # 7, 8
                 'e,1,user,"twee\nregels"\n'                                 # 9, 10
                 'e,2,assistant,"met ""aanhalingstekens"", ok"\n'             # 11
                 "f,1,user,Hoi\x00\nf,2,assistant,Hallo\n"                    # 12, 13
                 f'g,1,user,"{many_lines}"\ng,2,assistant,Hallo\n'           # 14 ...
                 "h,2,assistant,Antwoord\nh,1,user,Vraag")                    # no newline
    report = import_transcripts(engine=engine, path=path, scrub=False)
    assert report.conversations == 3, report.problems
    problems = "\n".join(report.problems)
    assert "line 4: longer than the 2.0 MB a line may hold (3.0 MB)" in problems
    assert "line 4: conversation 'b' is left out: line(s) 4 could not be read" in problems
    assert "line 6: conversation 'c': no assistant message" in problems
    assert "line 8: conversation 'd' has turn 1 twice (also line 7)" in problems
    assert "line 12: holds a NUL byte" in problems
    assert "line 12: conversation 'f' is left out: line(s) 12 could not be read" in problems
    assert "line 14: a record longer than 2.0 MB" in problems
    assert "line 14: conversation 'g' is left out" in problems
    assert len(report.problems) == 8
    with Session(engine) as s:
        convs = {c.external_id: c.id for c in s.exec(select(Conversation))}
        assert set(convs) == {"a", "e", "h"}
        e = [t.content for t in s.exec(select(Turn).where(Turn.conversation_id == convs["e"])
                                       .order_by(Turn.index))]
        h = [t.role for t in s.exec(select(Turn).where(Turn.conversation_id == convs["h"])
                                    .order_by(Turn.index))]
    assert e == ["twee\nregels", 'met "aanhalingstekens", ok'] and h == ["user", "assistant"]


def test_a_csv_without_its_columns_is_refused_at_line_one(engine, tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,text\n1,hoi\n")
    report = import_transcripts(engine=engine, path=path, scrub=False)
    assert report.conversations == 0
    assert report.problems == ["line 1: missing column(s): conversation_id, turn, role, content"]
