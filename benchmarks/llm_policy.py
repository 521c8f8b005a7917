"""Per-answer-type gate and fallback policies from ``benchmarks.llm_reader`` rows (no model runs).

    .venv/bin/python -m benchmarks.llm_policy runs/dev-*.jsonl --unanswerable runs/unans.jsonl

Rows of answerable questions (their article is indexed) and of unanswerable ones (questions whose
article was left out of the index, or written to be unanswerable) are pooled by answer type. For
each type, every choice of

- ``ask_floor`` (below this support the model is not asked and the reader abstains),
- ``min_confidence`` (below this answer confidence the model's answer is not given) with
  ``unsure`` = abstain or extractive (what is given instead),

is scored by the expected F1 on a mix of questions with ``--unanswerable-share`` unanswerable
(default 0.2, about the seed eval's share): an answerable row scores its F1 (the model's, the
extractive answer's on a fallback, 0 on an abstention), an unanswerable one 1 for an abstention
and 0 for any answer. The best choice is printed per type, with the figures behind it; types with
fewer than ``--min-rows`` answerable rows get the choice for all rows together (printed as "(all)").
Rows where the model itself said "not found" keep that outcome, with ``not_found`` chosen the
same way (abstain, or the extractive answer).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

from benchmarks.common import print_table, read_jsonl

FLOORS = (-1.0, 0.2, 0.25, 0.3, 0.35, 0.4)
CONFIDENCES = (None, -4.0, -3.0, -2.0, -1.5, -1.0, -0.75, -0.5, -0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answerable", type=Path, nargs="+")
    parser.add_argument("--unanswerable", type=Path, nargs="*", default=[])
    parser.add_argument("--unanswerable-share", type=float, default=0.2)
    parser.add_argument("--min-rows", type=int, default=15)
    args = parser.parse_args()
    rows = _rows(args.answerable, answerable=None) + _rows(args.unanswerable, answerable=False)
    pooled = _best(rows, args.unanswerable_share)
    table = [["(all)", *_counts(rows), *pooled]]
    for kind in sorted({r["answer_type"] for r in rows}):
        mine = [r for r in rows if r["answer_type"] == kind]
        enough = sum(r["answerable"] for r in mine) >= args.min_rows
        choice = _best(mine, args.unanswerable_share) if enough else \
            [*pooled[:4], _score(mine, *pooled[:4], args.unanswerable_share), "(all)"]
        table.append([kind, *_counts(mine), *choice])
    print_table(f"Per-type policy (expected F1 with {args.unanswerable_share:.0%} unanswerable)",
                table, ["type", "answerable", "unanswerable", "model F1", "ask_floor",
                        "min_confidence", "unsure", "not_found", "expected F1", "from"])


def _rows(paths: list[Path], answerable: bool | None) -> list[dict[str, Any]]:
    out, seen = [], set()
    for path in paths:
        for r in read_jsonl(path):
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            out.append({**r, "answerable": bool(r["gold"]) if answerable is None else answerable})
    return out


def _counts(rows: list[dict[str, Any]]) -> list[Any]:
    ans = [r for r in rows if r["answerable"]]
    f1 = 100 * sum(r["f1"] for r in ans) / len(ans) if ans else float("nan")
    return [len(ans), len(rows) - len(ans), round(f1, 1)]


def _best(rows: list[dict[str, Any]], share: float) -> list[Any]:
    options = itertools.product(FLOORS, CONFIDENCES, ("abstain", "extractive"),
                                ("abstain", "extractive"))
    scored = [(_score(rows, *option, share), option) for option in options]
    # the best score; among equals the gentlest gate (low floor, no or low confidence floor)
    score, option = max(scored, key=lambda s: (round(s[0], 4), -s[1][0],
                                               -(s[1][1] if s[1][1] is not None else -99)))
    return [*option, round(score, 1), "type"]


def _score(rows: list[dict[str, Any]], floor: float, confidence: float | None, unsure: str,
           not_found: str, share: float) -> float:
    ans = [_outcome(r, floor, confidence, unsure, not_found) for r in rows if r["answerable"]]
    unans = [_outcome(r, floor, confidence, unsure, not_found) for r in rows if not r["answerable"]]
    parts = []
    if ans:
        parts.append(((1 - share) if unans else 1.0, sum(ans) / len(ans)))
    if unans:
        parts.append((share if ans else 1.0, sum(unans) / len(unans)))
    return 100 * sum(w * v for w, v in parts)


def _outcome(r: dict[str, Any], floor: float, confidence: float | None, unsure: str,
             not_found: str) -> float:
    """The row's score under a policy: F1 if answerable, 1 for abstaining if not."""
    if r["support"] is not None and r["support"] < floor:
        return _abstain(r)
    if r["refused"] or r.get("fallback") == "not_found":
        return _extractive(r) if not_found == "extractive" else _abstain(r)
    if confidence is not None and r.get("confidence") is not None and r["confidence"] < confidence:
        return _extractive(r) if unsure == "extractive" else _abstain(r)
    if r.get("fallback"):  # unverified or unparsable: the extractive answer was given
        return _extractive(r)
    return r["f1"] if r["answerable"] else float(r["abstained"])


def _abstain(r: dict[str, Any]) -> float:
    return 0.0 if r["answerable"] else 1.0


def _extractive(r: dict[str, Any]) -> float:
    return r["ext_f1"] if r["answerable"] else float(r["ext_abstained"])


if __name__ == "__main__":
    main()
