"""Hostile text for the remote-content tests (issue 13, item 3): a bot reply, a panel message, a
rewrite, a comment and a scenario that each try every way Markdown or HTML could make a
viewer's browser fetch a URL, planted through the services the app itself uses.

Every URL names what planted it (`<beacon>/<where>/<how>`), so a beacon that counts requests
also says which text leaked and by which trick.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
import yaml

from workbench.bots.server import ChatApp, RunningServer
from workbench.domain.enums import BotKind, Role
from workbench.domain.library import Library
from workbench.services import accounts, targets, training
from workbench.services.training import RatingInput

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_ID = "vijandige-tekst"
HOSTILE_TARGET = "vijandig"


def hostile(beacon: str, where: str) -> str:
    """One text with every trick we know; line breaks and a helpline number among them."""
    b = f"{beacon}/{where}"
    return (
        f"Bel 0800-2000 of bij direct gevaar 112.\n"
        f"![]({b}/md-image) ![alt][r1] [![x]({b}/nested-image)]({b}/nested-link)\n"
        f"<img src=\"{b}/html-img\"> <script src=\"{b}/script\"></script>\n"
        f"<iframe src=\"{b}/iframe\"></iframe> <link rel=\"stylesheet\" href=\"{b}/css\">\n"
        f"<{b}/autolink> {b}/bare [klik]({b}/link) **vet** &lt;b&gt; &#60;i&#62;\n"
        f"<svg><image href=\"{b}/svg\"/></svg> <video poster=\"{b}/poster\"></video> "
        f"<object data=\"{b}/object\"></object> <embed src=\"{b}/embed\">\n"
        f"<div style=\"background:url({b}/style)\">x</div> :material/home: :red[rood]\n"
        f"\n[r1]: {b}/ref-image\n"
    )


def hostile_scenario_dir(folder: Path, beacon: str) -> Path:
    """A scenarios folder with one shipped scenario whose every shown text is hostile."""
    source = sorted((ROOT / "scenarios").glob("*.yaml"))[0]
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["id"] = SCENARIO_ID
    data["title"] = f"Titel ![]({beacon}/title/md-image) <img src=\"{beacon}/title/html-img\">"
    data["content_warnings"] = [hostile(beacon, "warning")]
    data["persona"]["name"] = f"Lotte ![]({beacon}/persona-name/md-image)"
    data["persona"]["description"] = hostile(beacon, "persona")
    data["situation"] = hostile(beacon, "situation")
    data["roleplay_guidance"] = hostile(beacon, "guidance")
    data["scripted_turns"][0]["text"] = hostile(beacon, "scripted")
    for turn in data["scripted_turns"]:
        for exp in turn.get("expectations", []):
            for kind in ("must", "must_not"):
                if kind in exp:
                    exp[kind] = hostile(beacon, "expectation")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{SCENARIO_ID}.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def chunks(text: str, size: int = 7) -> Iterator[str]:
    """Small pieces, so a stream splits the markup mid-tag as a real model does."""
    for i in range(0, len(text), size):
        yield text[i:i + size]


def hostile_bot(beacon: str) -> RunningServer:
    """An OpenAI-compatible server whose every reply is hostile text (not started)."""
    return RunningServer(ChatApp(lambda request: chunks(hostile(beacon, "reply"))))


@dataclass(frozen=True)
class Planted:
    day_id: int
    reply_id: int
    pair: tuple[int, int]
    member: accounts.SignedIn
    facilitator: accounts.SignedIn
    experts: tuple[accounts.SignedIn, accounts.SignedIn]
    fresh_expert: accounts.SignedIn
    developer: accounts.SignedIn


def _staff(engine: sa.Engine, code: str, role: Role) -> accounts.SignedIn:
    from tests.training_support import staff

    return staff(engine, code, role)


def plant(engine: sa.Engine, library: Library, *, beacon: str, bot_url: str) -> Planted:
    """A day on the hostile scenario with the hostile bot: one role-play with a hostile panel
    message, two disagreeing expert ratings with hostile comments and rewrites, and two
    scripted runs by two prompt versions (a pairwise pair)."""
    target = targets.add_target(engine=engine, name=HOSTILE_TARGET, kind=BotKind.openai,
                                base_url=bot_url, model="vijandig", prompt="Je bent een bot.",
                                label="v1 ![](" + beacon + "/prompt-label/md-image)")
    day_id = training.create_day(engine=engine, library=library, name="Vijandige dag",
                                 day=date.today(), scenario_ids=[SCENARIO_ID],
                                 bot_target_ids=[target.id], overlap=3, exposure_cap=3)
    code = accounts.issue_join_code(engine=engine, training_day_id=day_id)
    member = accounts.redeem_join_code(engine=engine, code=code)
    cid = training.begin_roleplay(engine=engine, library=library,
                                  participant_id=member.participant_id,
                                  scenario_id=SCENARIO_ID, consent=True)
    training.send_message(engine=engine, participant_id=member.participant_id,
                          conversation_id=cid, text=hostile(beacon, "panel"))
    reply_id = training.complete_reply(engine=engine, conversation_id=cid).id or 0

    experts = (_staff(engine, "expert1", Role.expert), _staff(engine, "expert2", Role.expert))
    for n, who in enumerate(experts):
        item = training.next_item(engine=engine, rater_id=who.participant_id,
                                  training_day_id=day_id)
        assert item is not None and item.turn_id == reply_id
        score, flag = (1, "yes") if n == 0 else (5, "no")
        training.submit_rating(
            engine=engine, rater_id=who.participant_id, turn_id=reply_id,
            rubric_version_id=item.rubric_version_id,
            form=RatingInput(values={c.key: score if c.scale == "likert_5" else flag
                                     for c in item.rubric.criteria},
                             comment=hostile(beacon, f"comment{n}"),
                             ideal_reply=hostile(beacon, f"rewrite{n}"),
                             unsafe_flag=n == 0,
                             unsafe_span=f"![]({beacon}/reply/md-image)" if n == 0 else ""))

    facilitator = _staff(engine, "begeleider", Role.facilitator)
    v1 = next(c.id for c in training.prompt_choices(engine=engine)
              if c.target_name == HOSTILE_TARGET)
    targets.set_target_prompt(engine=engine, name=HOSTILE_TARGET, prompt="Kort.",
                              label="v2 <img src=\"" + beacon + "/prompt-label/html-img\">")
    v2 = next(c.id for c in training.prompt_choices(engine=engine)
              if c.target_name == HOSTILE_TARGET and c.is_current)
    pair = []
    for pv in (v1, v2):
        run = training.start_scripted(engine=engine, library=library,
                                      participant_id=facilitator.participant_id,
                                      scenario_id=SCENARIO_ID, prompt_version_id=pv,
                                      training_day_id=day_id)
        training.send_next_scripted(engine=engine, conversation_id=run,
                                    participant_id=facilitator.participant_id)
        pair.append(training.complete_reply(engine=engine, conversation_id=run).id or 0)
        training.finish_scripted(engine=engine, conversation_id=run,
                                 participant_id=facilitator.participant_id)
    return Planted(day_id=day_id, reply_id=reply_id, pair=(pair[0], pair[1]),
                   member=member, facilitator=facilitator, experts=experts,
                   fresh_expert=_staff(engine, "expert3", Role.expert),
                   developer=_staff(engine, "ontwikkelaar", Role.developer))
