"""``qa eval`` in llm mode, as a chat user sees it: the same scores, plus how often the model was
asked and why it fell back, and the time to the first answer token as well as to the whole answer.

    .venv/bin/python -m benchmarks.llm_eval benchmarks/data/xquad_en_sample.jsonl \\
        [--index-dir DIR] [--rows a:b] [--out rows.jsonl] [--json figures.json]

Each question goes through ``Assistant.stream`` (what the chat page consumes; ``ask`` is the same
events collected) and is scored by ``qa.eval.runner.score_question``/``aggregate``, so EM, F1,
citation precision and abstentions are ``qa eval --mode llm``'s. Rows carrying ``article_text``
(XQuAD) are answered from a temporary index of their articles, the others from ``--index-dir``.
Timings start when the question is asked (retrieval included), after the model is loaded and its
fixed prompt prefix cached; "first token" is the first ("token") event, which for a fallback is
the extractive answer. The load average is sampled per question (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import percentile, print_table, quiet, scratch, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--index-dir", type=Path, help="for rows without article_text")
    parser.add_argument("--rows", default=":", help="a slice of the rows by position, a:b[:step]")
    parser.add_argument("--out", type=Path, help="one JSON line per question")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    quiet()
    from qa import Assistant, load_eval_dataset, load_settings

    parts = [int(p) if p else None for p in args.rows.split(":")]
    items = load_eval_dataset(args.dataset)[slice(*parts)]
    index_dir = args.index_dir or scratch("qa-llm-eval-") / "index"
    settings = load_settings(index={"dir": index_dir})
    if any(i.article_text for i in items):
        _index(settings, items)
    assistant = Assistant(settings).warm_up("llm")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("")
    rows, results = [], []
    for count, item in enumerate(items, start=1):
        result, row = _one(assistant, item)
        results.append(result)
        rows.append(row)
        if args.out:
            with args.out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({**result.to_dict(), **row}, ensure_ascii=False) + "\n")
        print(f"\r{count}/{len(items)}", end="", flush=True)
    print()
    figures = _figures(results, rows, settings)
    print_table(f"llm mode on {args.dataset.name}, {len(items)} questions",
                [[k, v] for k, v in figures.items()], ["figure", "value"])
    write_json(args.json, figures)


def _index(settings: Any, items: list) -> None:
    """The dataset's articles, indexed as ``qa eval`` does (a title always given)."""
    from qa import index_paths

    articles: dict[str, dict[str, str]] = {}
    for i in items:
        if i.article_text and i.article_id:
            article = {"id": i.article_id, "title": i.article_title or i.article_id,
                       "text": i.article_text}
            if i.article_date:
                article["date"] = i.article_date
            articles.setdefault(i.article_id, article)
    source = settings.index.dir.parent / "articles.jsonl"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles.values()))
    index_paths([source], settings)


def _one(assistant: Any, item: Any) -> tuple[Any, dict[str, Any]]:
    from qa.eval.runner import score_question

    started, first, answer = time.perf_counter(), None, None
    for kind, value in assistant.stream(item.question, mode="llm", as_of=item.as_of):
        if kind == "token" and first is None:
            first = time.perf_counter() - started
        elif kind == "answer":
            answer = value
    total = time.perf_counter() - started
    extra = answer.extra
    row = {"asked": "llm_text" in extra, "not_asked": extra.get("not_asked"),
           "fallback": extra.get("fallback"), "refused": bool(extra.get("refused")),
           "unsure": bool(extra.get("unsure")), "grounded": extra.get("grounded") is not None,
           "llm_text": extra.get("llm_text"), "confidence": extra.get("confidence"),
           "first_s": first, "total_s": total, "load": os.getloadavg()[0],
           "llm_timings": extra.get("llm_timings")}
    return score_question(item, answer, total * 1000.0), row


def _figures(results: list, rows: list[dict[str, Any]], settings: Any) -> dict[str, Any]:
    from qa.eval.runner import aggregate

    metrics = aggregate(results, settings.retrieval.k, sum(r["total_s"] for r in rows))
    asked = [r for r in rows if r["asked"]]
    model = [r for r in asked if not r["fallback"]]
    reasons = Counter(r["fallback"] or "" for r in rows if r["fallback"])
    not_asked = Counter(r["not_asked"] for r in rows if r["not_asked"])
    loads = [r["load"] for r in rows]
    return {
        "EM / F1": f"{metrics['exact_match']} / {metrics['f1']}",
        "EM / F1 answerable": f"{metrics['answerable']['exact_match']} / {metrics['answerable']['f1']}",
        "citation precision / recall": f"{metrics['citation_precision']} / {metrics['citation_recall']}",
        "abstained on unanswerable": f"{_count(results, False)} of {metrics['n_unanswerable']}",
        "abstained on answerable": f"{_count(results, True)} of {metrics['n_answerable']}",
        "short answer rate": metrics["short_answer_rate"],
        "put to the model": f"{len(asked)} of {len(rows)}",
        "not asked (reason: n)": dict(not_asked) or "-",
        "answered by the model": f"{len(model)} (in a cited sentence: "
                                 f"{sum(r['grounded'] for r in model)}; refused: "
                                 f"{sum(r['refused'] for r in model)}; unsure: "
                                 f"{sum(r['unsure'] for r in model)})",
        "fell back to extractive (reason: n)": dict(reasons) or "-",
        "answer p50 / p95 s (all)": _p(r["total_s"] for r in rows),
        "first token p50 / p95 s (all)": _p(r["first_s"] for r in rows),
        "answer p50 / p95 s (put to the model)": _p(r["total_s"] for r in asked),
        "first token p50 / p95 s (put to the model)": _p(r["first_s"] for r in asked),
        "prompt tokens read p50": _med((r["llm_timings"] or {}).get("prompt_n") for r in asked),
        "tokens written p50": _med((r["llm_timings"] or {}).get("predicted_n") for r in asked),
        "load average min / p50 / max": f"{min(loads):.2f} / {statistics.median(loads):.2f} / "
                                        f"{max(loads):.2f}",
        "recall@k": metrics["retrieval_recall_at_k"],
        "removed citations": metrics["removed_citations"],
    }


def _count(results: list, answerable: bool) -> int:
    return sum(q.abstained for q in results if q.item.answerable == answerable)


def _p(values: Any) -> str:
    vs = [v for v in values if v is not None]
    return f"{statistics.median(vs):.2f} / {percentile(vs, 95):.2f}" if vs else "-"


def _med(values: Any) -> float | None:
    vs = [v for v in values if v is not None]
    return statistics.median(vs) if vs else None


if __name__ == "__main__":
    main()
