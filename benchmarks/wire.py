"""A seeded generator of wire stories and their edited reprints, for copy-detection tests and the
news benchmark.

Each original comes from ``benchmarks.corpus`` (its topics repeat, so many unrelated articles
share a topic, names and phrases: the hard negatives). A reprint is the original with a new
headline, a few words swapped or dropped, an optional dateline, and often the last paragraphs cut.
A follow-up is a new article on the same topic that quotes one paragraph of an original: related,
but not a copy. Rows carry ``story``: the truth that grouping is scored against.

    python -m benchmarks.wire --articles 2000 --out /tmp/wire.jsonl
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from benchmarks.corpus import CITIES, TOPICS, generate, write_jsonl

SWAPS = {"said": "stated", "told": "informed", "officials": "authorities", "people": "residents",
         "plans": "proposals", "talks": "negotiations", "critics": "opponents", "meet": "convene",
         "ready": "prepared", "decision": "move", "package": "deal", "affected": "hit"}
FILLERS = ("also", "reportedly", "on Tuesday", "late on Monday", "again")
PAPERS = ("Daily Lantern", "Harbour Courier", "Valley Post", "Northern Ledger", "Morning Beacon")


def edit(row: dict, rng: random.Random, n: int) -> dict:
    """A reprint of ``row``: new headline, swapped and dropped words, often a trimmed ending."""
    paragraphs = row["text"].split("\n\n")
    if len(paragraphs) > 2 and rng.random() < 0.6:
        keep = max(2, round(len(paragraphs) * rng.uniform(0.4, 0.9)))
        paragraphs = paragraphs[:keep]
    edited = [_edit_words(p, rng, rate=rng.uniform(0.01, 0.06)) for p in paragraphs]
    if rng.random() < 0.5:
        edited[0] = f"{rng.choice(CITIES).upper()} (Wire) — {edited[0]}"
    title = rng.choice([f"{row['title'].split(' as ')[0]}, officials say",
                        f"What we know: {row['title'].lower()}",
                        f"{rng.choice(CITIES)}: {row['title'].split(' as ')[-1]}"])
    return {**row, "id": f"{row['id']}-copy{n}", "title": title, "text": "\n\n".join(edited),
            "source": rng.choice(PAPERS)}


def _edit_words(paragraph: str, rng: random.Random, rate: float) -> str:
    words = paragraph.split(" ")
    out = []
    for word in words:
        roll = rng.random()
        bare = word.strip(".,“”:").lower()
        if roll < rate and bare in SWAPS:
            out.append(word.replace(bare, SWAPS[bare]))
        elif roll < rate / 2:
            continue  # a dropped word
        elif roll < rate:
            out += [word, rng.choice(FILLERS)]
        else:
            out.append(word)
    return " ".join(out)


def follow_up(original: dict, fresh: dict, n: int) -> dict:
    """A new article (``fresh``'s text) repeating two sentences of ``original`` as background,
    as a next-day report does: related, not a copy."""
    quoted = " ".join(original["text"].split("\n\n")[0].split(". ")[:2])
    paragraphs = fresh["text"].split("\n\n")
    paragraphs.insert(min(2, len(paragraphs)), quoted)
    return {**fresh, "id": f"follow-{n:05d}", "text": "\n\n".join(paragraphs)}


def wire_set(articles: int, seed: int = 11, copy_share: float = 0.5) -> list[dict]:
    """About ``articles`` rows: originals, their reprints (about ``copy_share`` of all rows) and
    follow-ups, each with the id of its true story in ``story``; shuffled."""
    rng = random.Random(seed)
    originals = [{**r, "id": f"orig-{i:05d}"}
                 for i, r in enumerate(generate(max(1, int(articles * (1 - copy_share))), seed=seed))]
    fresh = _by_topic(generate(articles, seed=seed + 1))  # new writing for follow-ups
    rows = [{**r, "story": r["id"]} for r in originals]
    n = 0
    while len(rows) < articles:
        source = rng.choice(originals)
        if rng.random() < 0.15:
            pool = fresh.get(_topic(source)) or fresh[next(iter(fresh))]
            row = follow_up(source, pool.pop(), n)
            if not pool:
                fresh.pop(_topic(source), None)
            rows.append({**row, "story": row["id"]})
        else:
            rows.append({**edit(source, rng, n), "story": source["id"]})
        n += 1
    rng.shuffle(rows)
    return rows


def _topic(row: dict) -> str:
    return next((t for t in TOPICS if t in row["title"]), "")


def _by_topic(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(_topic(row), []).append(row)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/wire.jsonl"))
    args = parser.parse_args(argv)
    rows = wire_set(args.articles, args.seed)
    write_jsonl(rows, args.out)
    stories = len({r["story"] for r in rows})
    print(f"wrote {len(rows)} articles in {stories} true stories to {args.out}")


if __name__ == "__main__":
    main()
