"""A seeded generator of news-like articles, for benchmarks.

Deterministic (same seed, same articles, on any machine), varied on purpose: article lengths from
a short brief to a long report, people with titles, organisations, places, numbers and money,
dates, direct quotes, photo captions with agency credits, agency tag lines and headlines without
final punctuation, so that every stage of the pipeline does its real work.

    python -m benchmarks.corpus --articles 2000 --out /tmp/corpus.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

FIRST = ("Anna Maria John Peter Olga Ivan Chen Li Fatima Omar Aisha Lars Ingrid Pedro Lucia Hans Eva Tomas "
         "Sofia Rustem Kaja Mark Yuki Kenji Amara Kwame Nadia Pierre Claire Giorgio Elena Rahul"
         " Priya").split()
LAST = ("Healey Umerov Jonson Brekelmans Novak Schmidt Garcia Rossi Dubois Kowalski Tanaka Mensah Okafor "
        "Petrov Larsen Silva Haddad Nguyen Kim Sato Fischer Moreau Costa Ivanova Walker Hughes"
        " Brennan").split()
TITLES = ("Defence Minister,Foreign Minister,Prime Minister,Finance Minister,spokesperson,chief executive,"
          "mayor,central bank governor,union leader,police chief,health minister,"
          "opposition leader").split(",")
COUNTRIES = ("Ukraine,Poland,Germany,France,Italy,Spain,Japan,Kenya,Nigeria,Brazil,Canada,Australia,"
             "India,Sweden,Finland,Norway,Egypt,Turkey,Mexico,Chile,Vietnam,Indonesia").split(",")
CITIES = ("Brussels,Kyiv,Warsaw,Berlin,Paris,Rome,Madrid,Tokyo,Nairobi,Lagos,Sao Paulo,Toronto,Sydney,"
          "Mumbai,Stockholm,Helsinki,Oslo,Cairo,Ankara,Mexico City,Santiago,Hanoi,Jakarta").split(",")
ORGS = ("NATO,the European Union,the United Nations,the World Bank,the IMF,Reuters,the central bank,"
        "the Red Cross,the parliament,the supreme court,the election commission,"
        "the port authority").split(",")
TOPICS = ("defence spending,grain exports,interest rates,a new railway,flood defences,a trade deal,"
          "energy prices,the peace talks,a vaccine campaign,wildfire season,a cyber attack,fishing quotas,"
          "housing costs,a teachers' strike,the budget deficit,drought relief,"
          "an airport expansion").split(",")
VERBS = ("announced,approved,rejected,criticised,welcomed,postponed,signed,proposed,defended,questioned,"
         "unveiled,suspended").split(",")
MONTHS = "January February March April May June July August September October November December".split()
AGENCIES = ("AP", "AFP", "with Reuters", "dpa", "Reuters")


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def person(self) -> str:
        return f"{self.r.choice(FIRST)} {self.r.choice(LAST)}"

    def number(self) -> str:
        kind = self.r.random()
        if kind < 0.3:
            return f"{self.r.randint(2, 950)}"
        if kind < 0.6:
            return f"{self.r.randint(1, 99)}.{self.r.randint(0, 9)} percent"
        if kind < 0.8:
            return f"${self.r.randint(1, 900)} million"
        return f"{self.r.randint(1, 40)},{self.r.randint(0, 999):03d}"

    def date(self) -> str:
        return f"{self.r.choice(MONTHS)} {self.r.randint(1, 28)}"

    def sentence(self, topic: str) -> str:
        r = self.r
        templates = [
            lambda: f"{self.person()}, the {r.choice(TITLES)} of {r.choice(COUNTRIES)}, {r.choice(VERBS)} "
                    f"plans on {topic} on {self.date()}.",
            lambda: f"Officials in {r.choice(CITIES)} said {self.number()} people were affected by "
                    f"{r.choice(TOPICS)}.",
            lambda: f"“We are ready to act on {topic},” {self.person()} told reporters in "
                    f"{r.choice(CITIES)}.",
            lambda: f"{r.choice(ORGS).capitalize()} {r.choice(VERBS)} a package worth {self.number()} "
                    f"after talks with {r.choice(COUNTRIES)}.",
            lambda: f"The figure rose to {self.number()} in {r.choice(MONTHS)}, up from {self.number()} a "
                    f"year earlier.",
            lambda: f"Mr. {r.choice(LAST)} said the U.S. and {r.choice(COUNTRIES)} would meet again on "
                    f"{self.date()} to discuss {topic}.",
            lambda: f"Critics said the decision on {topic} came too late, and {r.choice(ORGS)} called "
                    f"for an inquiry.",
            lambda: f"Asked whether {r.choice(COUNTRIES)} would follow, {self.person()} said: “Not yet. "
                    f"We will see.”",
            lambda: f"At least {self.number()} soldiers, police officers and volunteers took part in the "
                    f"operation near {r.choice(CITIES)}, according to {r.choice(ORGS)}.",
        ]
        return r.choice(templates)()

    def article(self, n: int) -> dict:
        r = self.r
        topic = r.choice(TOPICS)
        country = r.choice(COUNTRIES)
        reaction = r.choice(["meets", "weighs in", "reacts"])
        title = f"{country} {r.choice(VERBS)} {topic} as {r.choice(ORGS)} {reaction}"
        size = int(min(80, max(3, r.lognormvariate(3.0, 0.5))))  # median ~20 sentences
        paragraphs: list[str] = []
        while sum(p.count(". ") + 1 for p in paragraphs) < size:
            paragraphs.append(" ".join(self.sentence(topic) for _ in range(r.randint(1, 4))))
        if r.random() < 0.4:
            caption = f"{self.person()} speaks in {r.choice(CITIES)} on {self.date()}. (AP PHOTO)"
            paragraphs.insert(r.randint(0, len(paragraphs)), caption)
        if r.random() < 0.3:
            paragraphs.append(r.choice(AGENCIES))
        return {"id": f"bench-{n:06d}", "title": title, "text": "\n\n".join(paragraphs),
                "date": f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                "source": r.choice(["Wire", "Daily", "Herald", "Courier"])}


def generate(n: int, seed: int = 7) -> list[dict]:
    """``n`` article rows (the articles-JSONL contract), the same for the same seed."""
    writer = _Writer(random.Random(seed))
    return [writer.article(i) for i in range(n)]


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/corpus.jsonl"))
    args = parser.parse_args(argv)
    rows = generate(args.articles, args.seed)
    write_jsonl(rows, args.out)
    chars = sum(len(r["text"]) for r in rows)
    print(f"wrote {len(rows)} articles ({chars / 1e6:.1f} M characters) to {args.out}")


if __name__ == "__main__":
    main()
