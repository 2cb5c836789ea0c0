"""Benchmark: how many short Dutch chat messages per second the PII scrubber handles.

Prints figures and the ratio to the export target (2,000 texts/s on one core), and the export
gate's second pass over the scrubbed texts; asserts nothing. `--hostile 0.1` makes a tenth of the
texts hide their personal data (zero-width characters, spelled-out numbers, "(at)", lower case).
Run: `.venv/bin/python bench/scrub_speed.py [--n 20000] [--seed 7] [--hostile 0]`.
"""

from __future__ import annotations

import argparse
import random
import time

from workbench.domain.privacy import DeduceScrubber, ScrubContext, deduce_engine, residual_pii

TARGET = 2000.0  # texts per second, for the export benchmark

PLAIN = [
    "Hij controleert mijn telefoon en ik mag geen eigen geld hebben.",
    "Ik weet niet of dit al mishandeling is. Hij schreeuwt veel en gooit met spullen.",
    "Mijn moeder wordt door mijn broer onder druk gezet om geld te geven.",
    "Kan ik anoniem blijven als ik jullie om advies vraag?",
    "Wat gebeurt er als ik een melding doe? Komt hij dat dan te weten?",
    "Ik ben bang dat hij me iets aandoet als ik wegga. Hij zei dat hij me zou vinden.",
    "Sinds de scheiding gebruikt mijn ex de kinderen om mij te raken.",
    "Bij acuut gevaar bel je 112. Voor advies kun je Veilig Thuis bellen op 0800-2000.",
    "Dank je, dit helpt me wel. Ik denk er nog even over na.",
    "Ik ben 15 en mijn vader slaat mijn moeder. Ik durf het aan niemand te vertellen.",
    "Het is goed dat je dit vertelt. Het is niet jouw schuld.",
    "Gisteren heeft hij me bij mijn keel gepakt. Ik heb nog steeds pijn bij het slikken.",
    "Mijn buurvrouw huilt vaak en ik hoor gebonk door de muur. Wat kan ik doen?",
    "Als collega maak ik me zorgen om een leerling. Moet ik de meldcode volgen?",
    "My husband checks my phone every night and I am not allowed to see my friends.",
    "Je kunt ook de Kindertelefoon bellen op 0800-0432, gratis en anoniem.",
    "Ze zeggen dat ik in de zomer moet trouwen in het land van mijn ouders.",
    "Hoe kan ik mijn browsergeschiedenis wissen zodat hij niet ziet dat ik hier was?",
]
FIRST = [
    "Sanne",
    "Jan",
    "Mohammed",
    "Fatima",
    "Kevin",
    "Lisa",
    "Ayşe",
    "Peter",
    "Emma",
    "Daan",
    "Noor",
    "Youssef",
    "Anouk",
    "Thomas",
    "Priya",
    "Bram",
]
LAST = [
    "de Vries",
    "van der Heijden",
    "Jansen",
    "El Amrani",
    "Bakker",
    "Yılmaz",
    "van Dijk",
    "Visser",
    "Smit",
    "de Jong",
    "Mulder",
    "Bos",
]
STREETS = ["Kerkstraat", "Dorpsweg", "Stationslaan", "Lindenlaan", "Molenweg", "Schoolstraat"]
CITIES = ["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Zwolle", "Groningen", "Ede"]
MONTHS = ["januari", "maart", "april", "mei", "juli", "oktober", "december"]
PII = [
    "Mijn ex {name} blijft me berichten sturen, ook al heb ik hem geblokkeerd.",
    "Ik woon op de {street} {house}, {postcode} {city}. Kan er iemand langskomen?",
    "Mijn nummer is {phone}, bel alleen tussen 9 en 12 uur alsjeblieft.",
    "Hij heeft geld van mijn rekening {iban} gehaald zonder te vragen.",
    "Hij rijdt in een auto met kenteken {kenteken} en staat vaak bij school.",
    "Ik ben {first}, geboren op {dob}. Mijn stiefvader {name} slaat mij.",
    "Je kan me mailen op {email} of via insta {handle}.",
    "Mijn BSN is {bsn}, hebben jullie dat nodig?",
    "Mijn buurman {name} schreeuwt elke avond tegen zijn vrouw. Zijn nummer is {phone}.",
    "Dit is zijn profiel https://www.facebook.com/{slug}, daar zet hij foto's van mij op.",
]

HOSTILE = [
    "Mijn nummer is 06\u200b{digits8}, bel na negen uur.",
    "mail me op {first_lower} (at) gmail (dot) com of bel nul zes een twee drie vier vijf zes",
    "ik ben {first_lower} en we wonen op de {street_lower} {house}",
    "Bel ０６-{digits8} of mijn ex {name}, hij heet {first_lower}.",
]


def _bsn(rng: random.Random) -> str:
    while True:
        d = [rng.randint(0, 9) for _ in range(8)]
        check = sum(x * w for x, w in zip(d, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "".join(map(str, d)) + str(check)


def _fill(template: str, rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    digits8 = "".join(rng.choice("0123456789") for _ in range(8))
    letters = "".join(rng.choice("BDFGHJKLNPRSTVXZ") for _ in range(3))
    street = rng.choice(STREETS)  # drawn where it was, so the default texts stay the same
    return template.format(
        name=f"{first} {last}",
        first=first,
        street=street,
        house=rng.randint(1, 250),
        postcode=f"{rng.randint(1000, 9999)} {letters[:2]}",
        city=rng.choice(CITIES),
        phone=rng.choice([f"06-{digits8}", f"06{digits8}", f"+31 6 {digits8}"]),
        iban=f"NL{rng.randint(10, 99)} ABNA {digits8[:4]} {digits8[4:]} {rng.randint(10, 99)}",
        kenteken=f"{rng.randint(10, 99)}-{letters}-{rng.randint(1, 9)}",
        dob=f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(1960, 2012)}",
        email=f"{first.lower()}{rng.randint(1, 99)}@gmail.com",
        handle=f"@{first.lower()}_{rng.randint(1, 99)}",
        bsn=_bsn(rng),
        slug=f"{first.lower()}.{last.replace(' ', '').lower()}",
        first_lower=first.lower(),
        street_lower=street.lower(),
        digits8=digits8,
    )


def make_texts(n: int, seed: int, hostile: float = 0.0) -> list[str]:
    """`n` chat messages, about 30% with personal data, reproducible for a seed; a `hostile`
    share of them written to hide it."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        if hostile and rng.random() < hostile:
            texts.append(_fill(rng.choice(HOSTILE), rng))
        elif rng.random() < 0.3:
            texts.append(_fill(rng.choice(PII), rng))
        else:  # two plain sentences, like a short chat turn
            texts.append(" ".join(rng.sample(PLAIN, rng.choice([1, 1, 2]))))
    return texts


def _rate(scrubber: DeduceScrubber, texts: list[str]) -> tuple[float, float]:
    """Texts per second of wall time and of this process's CPU time (which is what one core
    does, and stays meaningful on a shared machine where wall time includes waiting)."""
    wall, cpu = time.perf_counter(), time.process_time()
    context = ScrubContext()
    for i, text in enumerate(texts):
        if i % 20 == 0:  # about one conversation per 20 turns
            context = ScrubContext()
        scrubber.scrub(text, context=context)
    n = len(texts)
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hostile", type=float, default=0.0)
    args = parser.parse_args()

    texts = make_texts(args.n, args.seed, args.hostile)
    start = time.perf_counter()
    deduce_engine()
    load = time.perf_counter() - start
    print(
        f"texts: {len(texts)} ({len(set(texts))} distinct), "
        f"mean {sum(map(len, texts)) / len(texts):.0f} characters"
    )
    print(f"deduce load (one-off): {load:.1f} s")
    runs = [
        ("default (prefilter + cache)", DeduceScrubber()),
        ("no cache", DeduceScrubber(cache_size=0)),
        ("no cache, deduce on every text", DeduceScrubber(cache_size=0, prefilter=False)),
    ]
    for label, scrubber in runs:
        wall, cpu = _rate(scrubber, texts)
        print(
            f"{label:32s} {wall:7.0f} texts/s wall, {cpu:7.0f} texts/s CPU"
            f"   ratio to {TARGET:.0f}/s: {wall / TARGET:.2f} wall, {cpu / TARGET:.2f} CPU"
        )
    scrubbed = [runs[0][1].scrub(t).text for t in texts]
    cpu = time.process_time()
    flagged = sum(bool(residual_pii(t)) for t in scrubbed)
    rate = len(scrubbed) / (time.process_time() - cpu)
    print(f"{'gate (residual_pii), scrubbed':32s} {rate:7.0f} texts/s CPU, {flagged} flagged")


if __name__ == "__main__":
    main()
