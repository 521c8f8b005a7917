"""The LLM reader on a slice of a dataset: F1 and latency for several numbers of sentences,
beside the extractive answer on the same evidence, with one JSON line per question and variant.

    .venv/bin/python -m benchmarks.llm_reader /work/.../xquad_en_dev.jsonl --rows 0:100 \\
        --sentences 3,4,5 --index-dir runs/dev-index --out runs/reader-dev.jsonl

Retrieval runs once per question; each variant then reads the same evidence, so the variants
differ only in what the model is given. ``--articles`` and ``--questions`` (all, even, odd: by the
position of the article in sorted order) make unanswerable questions out of answerable ones:
index the even articles, ask the questions of the odd ones. Timings: "first" is the first
answer token after the evidence is ready, "total" the whole answer; the load average is printed
beside them (the machine is shared). Every question is put to the model (no gate) and a refusal
is an abstention; the rows feed ``benchmarks.llm_policy``, which sets ``qa.answer.gate``.
``--reuse EARLIER.jsonl`` copies the model's columns from earlier rows of the same question and
number of sentences whose evidence is unchanged (same support and gold rank), so a change to the
extractive reader or the question analysis is measured without running the model again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import print_table, quiet, read_jsonl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--rows", default="0:100", help="a slice of the rows by position, a:b[:step]")
    parser.add_argument("--sentences", default="4", help="comma-separated numbers of sentences")
    parser.add_argument("--index-dir", type=Path, required=True, help="built from the rows if empty")
    parser.add_argument("--articles", choices=("all", "even", "odd"), default="all")
    parser.add_argument("--questions", choices=("all", "even", "odd"), default="all")
    parser.add_argument("--out", type=Path, help="one JSON line per question and variant")
    parser.add_argument("--gguf", type=Path, help="another GGUF than the packaged model")
    parser.add_argument("--reuse", type=Path, help="earlier rows whose model columns to reuse")
    args = parser.parse_args()
    quiet()
    from qa import load_eval_dataset, load_settings

    items = load_eval_dataset(args.dataset)
    order = sorted({i.article_id for i in items if i.article_id})
    parity = {a: n % 2 for n, a in enumerate(order)}
    settings = load_settings(index={"dir": args.index_dir}, llm={"gguf_path": args.gguf})
    _ensure_index(settings, [i for i in items if _keep(parity, i.article_id, args.articles)])
    asked = [i for i in _slice(items, args.rows) if _keep(parity, i.article_id, args.questions)]
    variants = [int(x) for x in args.sentences.split(",")]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("")  # rows are appended as they come: a long run can be read early
    earlier = {(r["id"], r["sentences"]): r for r in read_jsonl(args.reuse)} if args.reuse else {}
    report(run(settings, asked, variants, args.out, earlier), variants)


def _slice(items: list, spec: str) -> list:
    parts = [int(p) if p else None for p in spec.split(":")]
    return items[slice(*parts)]


def _keep(parity: dict[str, int], article_id: str | None, which: str) -> bool:
    return which == "all" or parity.get(article_id or "", 0) == (0 if which == "even" else 1)


def _ensure_index(settings: Any, items: list) -> None:
    from qa import Index, index_paths

    if settings.index.dir.exists() and Index.open(settings).info()["articles"]:
        return
    articles = {i.article_id: {"id": i.article_id, "title": i.article_title or i.article_id,
                               "text": i.article_text} for i in items if i.article_text}
    source = settings.index.dir.parent / f"{settings.index.dir.name}-articles.jsonl"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles.values()))
    index_paths([source], settings)


def run(settings: Any, items: list, variants: list[int], out: Path | None,
        earlier: dict[tuple[str, int], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    from qa import Assistant
    from qa.answer.gate import Policy
    from qa.answer.llm import LLMAnswerer

    # Every question is put to the model, and a refusal is an abstention: the rows record the
    # support and the extractive answer, from which benchmarks.llm_policy sets the gate.
    ungated = Policy(ask_floor=-1.0, not_found="abstain", unverified="extractive")

    assistant = Assistant(settings).warm_up("llm")
    extractive = assistant.answerer("extractive")
    chat = assistant.answerer("llm").chat
    readers = {}
    for n in variants:
        copy = settings.model_copy(deep=True)
        copy.llm.sentences = n
        readers[n] = LLMAnswerer(copy, embed=assistant.embed_query, chat=chat,
                                 policies=lambda kind: ungated)
    rows = []
    for count, item in enumerate(items, start=1):
        turn = assistant.prepare(item.question)
        assert turn.question is not None
        base = _base(item, turn, extractive.answer(turn.question, turn.evidence))
        for n, reader in readers.items():
            old = (earlier or {}).get((item.id, n))
            same = old is not None and all(old[k] == base[k] for k in ("support", "gold_rank"))
            model = {k: old[k] for k in MODEL_COLUMNS} if same and old else \
                _read(reader, turn, item.answers, n)
            rows.append({**base, "sentences": n, **model})
            if out:
                with out.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rows[-1], ensure_ascii=False) + "\n")
        print(f"\r{count}/{len(items)}", end="", flush=True)
    print()
    return rows


MODEL_COLUMNS = ("answer", "abstained", "short", "fallback", "refused", "llm_text", "f1", "em",
                 "first_s", "total_s", "llm_s", "load", "timings", "confidence", "given_n")


def _base(item: Any, turn: Any, extractive: Any) -> dict[str, Any]:
    from qa.eval import metrics as m

    prediction = "" if extractive.abstained else m.strip_citation_markers(extractive.text)
    evidence = list(turn.evidence)
    return {"id": item.id, "question": item.question, "gold": list(item.answers),
            "answer_type": turn.question.answer_type,
            "support": round(evidence[0].score, 4) if evidence else None,
            "gold_rank": _gold_rank(evidence, item.answers),
            "ext_answer": extractive.text, "ext_abstained": extractive.abstained,
            "ext_f1": m.f1(prediction, item.answers), "ext_em": m.exact_match(prediction, item.answers)}


def _gold_rank(evidence: list, answers: tuple[str, ...]) -> int | None:
    """The rank of the first evidence sentence holding a gold answer (None: none does)."""
    from qa.eval import metrics as m

    for rank, cand in enumerate(evidence, start=1):
        if answers and m.contains_answer(cand.sentence.text, answers):
            return rank
    return None


def _read(reader: Any, turn: Any, answers: tuple[str, ...], n: int) -> dict[str, Any]:
    from qa.eval import metrics as m

    started, first, answer = time.perf_counter(), None, None
    for kind, value in reader.stream(turn.question, turn.evidence):
        if kind == "token" and first is None:
            first = time.perf_counter() - started
        elif kind == "answer":
            answer = value
    total = time.perf_counter() - started
    prediction = "" if answer.abstained else m.strip_citation_markers(answer.text)
    return {"answer": answer.text, "abstained": answer.abstained,
            "short": answer.short_answer.text if answer.short_answer else None,
            "fallback": answer.extra.get("fallback"), "refused": bool(answer.extra.get("refused")),
            "llm_text": answer.extra.get("llm_text"), "f1": m.f1(prediction, answers),
            "em": m.exact_match(prediction, answers), "first_s": first, "total_s": total,
            "llm_s": (answer.extra.get("llm_ms") or 0) / 1000, "load": os.getloadavg()[0],
            "timings": answer.extra.get("llm_timings"), "confidence": answer.extra.get("confidence"),
            "given_n": len(answer.extra.get("given") or ())}


def report(rows: list[dict[str, Any]], variants: list[int]) -> None:
    table = []
    for n in variants:
        rs = [r for r in rows if r["sentences"] == n]
        if not rs:
            continue
        table.append([n, len(rs), _mean(r["f1"] for r in rs), _mean(r["em"] for r in rs),
                      _mean(r["ext_f1"] for r in rs),
                      _share(r["gold_rank"] is not None and r["gold_rank"] <= r["given_n"] for r in rs),
                      _share(r["abstained"] for r in rs), _share(bool(r["fallback"]) for r in rs),
                      _median(r["first_s"] for r in rs), _median(r["total_s"] for r in rs),
                      _median(r["load"] for r in rs)])
    print_table("LLM reader by number of sentences (F1/EM 0-100; seconds after retrieval)", table,
                ["sentences", "n", "F1", "EM", "extractive F1", "gold in given", "abstained",
                 "fallback", "first token p50", "answer p50", "load avg p50"])
    by_type = []
    for kind in sorted({r["answer_type"] for r in rows}):
        rs = [r for r in rows if r["answer_type"] == kind and r["sentences"] == variants[-1]]
        by_type.append([kind, len(rs), _mean(r["f1"] for r in rs), _mean(r["ext_f1"] for r in rs),
                        _share(r["abstained"] for r in rs), _share(bool(r["fallback"]) for r in rs)])
    print_table(f"By answer type ({variants[-1]} sentences)", by_type,
                ["type", "n", "F1", "extractive F1", "abstained", "fallback"])


def _mean(values: Any) -> float:
    vs = list(values)
    return 100.0 * sum(vs) / len(vs) if vs else float("nan")


def _share(values: Any) -> float:
    vs = [bool(v) for v in values]
    return sum(vs) / len(vs) if vs else float("nan")


def _median(values: Any) -> float:
    vs = [v for v in values if v is not None]
    return statistics.median(vs) if vs else float("nan")


if __name__ == "__main__":
    main()
