"""Per-answer-type gate and fallback policies from ``benchmarks.llm_reader`` rows (no model runs).

    .venv/bin/python -m benchmarks.llm_policy runs/reader-dev.jsonl --unanswerable runs/reader-unans.jsonl

For each answer type, from answerable rows (tuning questions whose article is indexed) and
unanswerable rows (questions whose article was left out of the index):

- ask floor: the highest support below which at most ``--keep-loss`` of the type's right model
  answers (F1 >= 0.5) lie, and how many unanswerable questions it turns away unasked;
- not found: when the model says the sentences do not answer, is the extractive answer right
  often enough (F1 >= 0.5 on at least ``--min-right`` of those answerable rows, and more often
  than it answers unanswerable ones)? Then "extractive", else "abstain";
- unverified: the same question for answers that failed the checks.

Types with fewer than ``--min-rows`` rows get the policy of all rows together.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks.common import print_table, read_jsonl

RIGHT = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answerable", type=Path)
    parser.add_argument("--unanswerable", type=Path)
    parser.add_argument("--sentences", type=int, help="the variant to use (default: the first)")
    parser.add_argument("--keep-loss", type=float, default=0.02)
    parser.add_argument("--min-right", type=float, default=0.5)
    parser.add_argument("--min-rows", type=int, default=8)
    args = parser.parse_args()
    rows = _variant(read_jsonl(args.answerable), args.sentences)
    unans = _variant(read_jsonl(args.unanswerable), args.sentences) if args.unanswerable else []
    table = [_policy("(all)", rows, unans, args)]
    for kind in sorted({r["answer_type"] for r in rows}):
        mine = [r for r in rows if r["answer_type"] == kind]
        theirs = [r for r in unans if r["answer_type"] == kind]
        table.append(_policy(kind, mine, theirs, args) if len(mine) >= args.min_rows
                     else [kind, len(mine), len(theirs), *table[0][3:-1], "too few: (all)"])
    print_table("Per-type policy (F1 >= 0.5 counts as right)", table,
                ["type", "answerable", "unanswerable", "model right", "extractive right",
                 "ask floor", "right lost", "unanswerable unasked", "not found: ext right",
                 "-> not_found", "unverified: ext right", "-> unverified", "note"])


def _variant(rows: list[dict[str, Any]], sentences: int | None) -> list[dict[str, Any]]:
    wanted = sentences if sentences is not None else (rows[0]["sentences"] if rows else None)
    return [r for r in rows if r["sentences"] == wanted]


def _policy(kind: str, rows: list[dict[str, Any]], unans: list[dict[str, Any]],
            args: Any) -> list[Any]:
    right = [r for r in rows if r["f1"] >= RIGHT]
    floor = _floor([r["support"] for r in right if r["support"] is not None], args.keep_loss)
    lost = sum(r["support"] is not None and r["support"] < floor for r in right)
    unasked = sum(r["support"] is not None and r["support"] < floor for r in unans)
    nf_share, nf = _fallback_choice([r for r in rows if r["refused"] or r["fallback"] == "not_found"],
                                    [r for r in unans if r["refused"] or r["fallback"] == "not_found"],
                                    args.min_right)
    uv_share, uv = _fallback_choice([r for r in rows if r["fallback"] == "unverified"],
                                    [r for r in unans if r["fallback"] == "unverified"],
                                    args.min_right)
    return [kind, len(rows), len(unans), _share(len(right), len(rows)),
            _share(sum(r["ext_f1"] >= RIGHT for r in rows), len(rows)), round(floor, 3),
            lost, unasked, nf_share, nf, uv_share, uv, ""]


def _floor(supports: list[float], loss: float) -> float:
    """The highest floor that leaves out at most ``loss`` of these supports."""
    if not supports:
        return 0.0
    ordered = sorted(supports)
    allowed = int(loss * len(ordered))
    return ordered[allowed] - 1e-6 if allowed < len(ordered) else ordered[-1]


def _fallback_choice(answerable: list[dict[str, Any]], unanswerable: list[dict[str, Any]],
                     min_right: float) -> tuple[str, str]:
    """Extractive when it is right on enough of these answerable rows and answers (wrongly)
    fewer of the unanswerable ones than it gets right."""
    if not answerable:
        return "-", "abstain"
    right = sum(r["ext_f1"] >= RIGHT for r in answerable) / len(answerable)
    wrong = (sum(not r["ext_abstained"] for r in unanswerable) / len(unanswerable)
             if unanswerable else 0.0)
    choice = "extractive" if right >= min_right and right > wrong else "abstain"
    return f"{right:.2f} of {len(answerable)} (unans. answered {wrong:.2f})", choice


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else float("nan")


if __name__ == "__main__":
    main()
