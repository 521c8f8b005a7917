"""The seed eval set: its gold answers are spans of the article it is about."""

import json
from collections import Counter
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
TYPES = {"who", "what", "where", "when", "how_many", "why", "paraphrase", "unanswerable"}


def _rows():
    lines = (SEEDS / "eval.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_gold_answer_is_verbatim_in_its_article():
    for row in _rows():
        text = (SEEDS / f"{row['article_id']}.txt").read_text(encoding="utf-8")
        for answer in row["answers"]:
            assert answer in text, (row["id"], answer)


def test_shape_and_coverage():
    rows = _rows()
    assert len(rows) >= 40
    assert len({r["id"] for r in rows}) == len(rows)
    types = Counter(r["type"] for r in rows)
    assert set(types) <= TYPES
    assert types["unanswerable"] >= 8
    assert types["paraphrase"] >= 8
    for row in rows:
        assert row["question"].strip()
        assert (row["type"] == "unanswerable") == (row["answers"] == [])
    assert any(r["question"] == "Who chaired the meeting?" for r in rows)
