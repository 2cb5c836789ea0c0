"""A small curated world for the prompt lab tests: the demo on four scenarios (gold examples,
the reference bot on its "warm" prompt) and a candidate edit that changes what the reference
bot says (shorter, and a sign-off naming 113)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from workbench.domain.library import Library
from workbench.services import lab
from workbench.services.demo import load_demo
from workbench.storage.tables import CuratedExample

SCENARIOS = ["acuut-doodsbedreiging-als-ik-wegga", "acuut-ex-met-mes-voor-de-deur",
             "acuut-kind-stiefvader-dronken-vanavond", "acuut-suicidaal-na-jaren-kleineren"]
SIGN_OFF = "afsluiting: Denk je aan zelfdoding? Bel 113 of 0800-0113, gratis."
PII_REPLY = ("Je kunt me bellen op 06-12345678, of mail naar jan.jansen@example.nl. "
             "Veilig Thuis is er dag en nacht: 0800-2000. Bij gevaar: 112.")


def curated_world(engine: sa.Engine, library: Library, runs_dir: Path) -> None:
    summary = load_demo(engine=engine, library=library, runs_dir=runs_dir,
                        scenario_ids=SCENARIOS)
    assert summary.created and summary.curation and summary.curation.gold > 0


def put_pii_in_a_gold_example(engine: sa.Engine) -> int:
    """The first gold example's ideal reply with a phone number and an e-mail address in it
    (helpline numbers beside them); returns its id."""
    with Session(engine) as s:
        ex = s.exec(select(CuratedExample).where(CuratedExample.state == "gold")
                    .order_by(CuratedExample.id)).first()
        assert ex is not None
        ex.ideal_reply = PII_REPLY
        s.add(ex)
        s.commit()
        return ex.id or 0


def candidate_text(current: str) -> str:
    """The current text with a shorter style and a sign-off that names 113."""
    lines = [ln for ln in current.splitlines()
             if not ln.startswith(("stijl:", "afsluiting:"))]
    return "\n".join([*lines, "stijl: kort", SIGN_OFF]) + "\n"


def reference(engine: sa.Engine) -> lab.LabTarget:
    return next(t for t in lab.lab_targets(engine=engine) if t.name == "reference")
