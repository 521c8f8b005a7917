"""Time to the first answer token and to the whole answer in llm mode, as a chat user waits for
them: from the question to the first ("token") event and to the ("answer") event of
``Assistant.stream``, retrieval included, the model loaded and its fixed prompt prefix cached.

    .venv/bin/python -m benchmarks.llm_latency [--dataset FILE.jsonl --rows 0:20] [--index-dir DIR]

Without --dataset: the 20 questions of benchmarks/ask_latency.py over the seed article. With a
dataset whose rows carry ``article_text`` (the XQuAD files), its articles are indexed first.
Prints medians and p90, llama.cpp's token counts (prompt tokens read from its cache and read
anew, tokens written) and the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.ask_latency import QUESTIONS
from benchmarks.common import ROOT, percentile, print_table, quiet, scratch, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--rows", default="0:20", help="a slice of the dataset's rows, a:b[:step]")
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--sentences", type=int, help="llm.sentences (default: the setting's)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    quiet()
    from qa import Assistant, load_settings

    overrides = {"sentences": args.sentences} if args.sentences else {}
    settings = load_settings(index={"dir": args.index_dir or scratch("qa-llm-lat-") / "index"},
                             llm=overrides)
    questions = _questions(args, settings)
    assistant = Assistant(settings).warm_up("llm")
    load_before = os.getloadavg()[0]
    rows = [_one(assistant, q) for q in questions]
    figures = _figures(rows, load_before)
    print_table(f"llm mode, {len(rows)} questions, llm.sentences {settings.llm.sentences}",
                [[k, v] for k, v in figures.items()], ["figure", "value"])
    write_json(args.json, figures)


def _questions(args: Any, settings: Any) -> list[str]:
    from qa import index_paths, load_eval_dataset

    if args.dataset is None:
        index_paths([ROOT / "seeds"], settings)
        return list(QUESTIONS)
    parts = [int(p) if p else None for p in args.rows.split(":")]
    items = load_eval_dataset(args.dataset)
    source = settings.index.dir.parent / "articles.jsonl"
    import json

    articles = {i.article_id: {"id": i.article_id, "title": i.article_title or i.article_id,
                               "text": i.article_text} for i in items if i.article_text}
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles.values()))
    index_paths([source], settings)
    return [i.question for i in items[slice(*parts)]]


def _one(assistant: Any, question: str) -> dict[str, Any]:
    assistant.clear_caches()
    started, first, answer = time.perf_counter(), None, None
    for kind, value in assistant.stream(question, mode="llm"):
        if kind == "token" and first is None:
            first = time.perf_counter() - started
        elif kind == "answer":
            answer = value
    total = time.perf_counter() - started
    counts = answer.extra.get("llm_timings") or {}
    return {"first": first, "total": total, "asked": "llm_text" in answer.extra,
            "cache_n": counts.get("cache_n"), "prompt_n": counts.get("prompt_n"),
            "predicted_n": counts.get("predicted_n")}


def _figures(rows: list[dict[str, Any]], load_before: float) -> dict[str, Any]:
    asked = [r for r in rows if r["asked"]]
    first = [r["first"] for r in asked if r["first"] is not None]
    total = [r["total"] for r in asked]

    def med(key: str) -> float | None:
        values = [r[key] for r in asked if r[key] is not None]
        return statistics.median(values) if values else None

    return {
        "questions put to the model": f"{len(asked)} of {len(rows)}",
        "first token p50 / p90 s": f"{statistics.median(first):.2f} / {percentile(first, 90):.2f}"
        if first else "-",
        "answer p50 / p90 s": f"{statistics.median(total):.2f} / {percentile(total, 90):.2f}"
        if total else "-",
        "prompt tokens cached p50": med("cache_n"),
        "prompt tokens read p50": med("prompt_n"),
        "tokens written p50": med("predicted_n"),
        "load average before / after": f"{load_before:.2f} / {os.getloadavg()[0]:.2f}",
    }


if __name__ == "__main__":
    main()
