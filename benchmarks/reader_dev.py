"""Iterate on the extractive reader without re-indexing: evidence is computed once and cached.

    .venv/bin/python benchmarks/reader_dev.py DATASET.jsonl [--every 3 --limit 300] [--cache DIR]
        [--features OUT.npz] [--misses N] [--top1] [--span-folds DIR]

The first run indexes the dataset's articles into ``DIR/index`` (as ``qa eval`` does with its
temporary index), asks every selected question up to the evidence step (``Assistant.prepare``)
and pickles the evidence. Later runs only re-read the question (``qa.question.analyze``) and run
the reader, so a change to the reader is measured in seconds. Rows are selected by position
(``--every``/``--offset``/``--limit``), never by outcome.

Prints EM/F1 (SQuAD), how often a short answer was given, and abstention, per answer type.
``--features`` writes the candidate spans' features and labels (token F1 with the gold answer)
for ``benchmarks/train_reader.py``. ``--drop-gold`` removes the question's article from its
evidence and ``--drop-answer`` only the sentences that hold the answer (the article, its topic,
stays): two kinds of unanswerable question, the second the harder. ``--top1`` also prints the
F1 of the best-ranked span before abstention; ``--span-folds`` reads each training row with the
cross-fitted span model that was not trained on it (``train_span_model.py --folds-dir``).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa import load_settings
from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.scoring import FEATURES
from qa.eval import metrics as m
from qa.ingest.readers import content_id
from qa.question import analyze
from qa.store.indexer import index_paths


def select(rows: list[dict], every: int, offset: int, limit: int | None,
           exclude_every: int | None) -> list[dict]:
    if exclude_every:  # the complement of a slice: rows[offset::every] left out
        return [r for i, r in enumerate(rows) if i % exclude_every != offset]
    chosen = rows[offset::every]
    return chosen[:limit] if limit else chosen


def build_evidence(rows: list[dict], cache: Path, seeds: bool, k: int) -> list[tuple[dict, tuple]]:
    from qa.chain import Assistant

    settings = load_settings(index={"dir": cache / "index"})
    if seeds:
        index_paths([Path("seeds")], settings)
    else:
        articles = {}
        for r in rows:
            aid = r.get("article_id") or "eval-" + content_id(r["article_text"])
            articles.setdefault(aid, {"id": aid, "text": r["article_text"], "title": aid})
        src = cache / "articles.jsonl"
        src.write_text("".join(json.dumps(a) + "\n" for a in articles.values()), encoding="utf-8")
        index_paths([src], settings)
    assistant = Assistant(settings)
    out = []
    for r in rows:
        turn = assistant.prepare(r["question"], k=k)
        out.append((r, turn.evidence))
    assistant.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", type=Path)
    p.add_argument("--every", type=int, default=1)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int)
    p.add_argument("--exclude-every", type=int, help="take the rows NOT in rows[offset::N]")
    p.add_argument("--cache", type=Path, default=Path("/tmp/qa-reader-dev"))
    p.add_argument("--seeds", action="store_true", help="answer from an index of seeds/")
    p.add_argument("--features", type=Path)
    p.add_argument("--misses", type=int, default=0, help="print this many wrong answers")
    p.add_argument("--k", type=int, default=5, help="chunks retrieved per question")
    p.add_argument("--drop-gold", action="store_true",
                   help="remove the question's own article from the evidence: it becomes unanswerable")
    p.add_argument("--drop-answer", action="store_true",
                   help="remove every evidence sentence that holds a gold answer: the question "
                        "becomes unanswerable while its article (the topic) stays")
    p.add_argument("--span-folds", type=Path,
                   help="cross-fitting span models (train_span_model.py --folds-dir): each row is "
                        "read with the model that was not trained on it (its features out-of-fold)")
    p.add_argument("--top1", action="store_true",
                   help="also print the F1 of the best-ranked span before abstention")
    p.add_argument("--confidence", type=Path,
                   help="write the best span's features and F1 per question (abstention training)")
    args = p.parse_args()
    rows = [json.loads(line) for line in args.dataset.read_text(encoding="utf-8").splitlines() if line]
    rows = select(rows, args.every, args.offset, args.limit, args.exclude_every)
    key = f"{args.dataset.stem}-{args.every}-{args.offset}-{args.limit}-{args.exclude_every}"
    key += f"-k{args.k}" if args.k != 5 else ""
    args.cache.mkdir(parents=True, exist_ok=True)
    path = args.cache / f"{key}.pkl"
    if path.exists():
        evidence = pickle.loads(path.read_bytes())
    else:
        evidence = build_evidence(rows, args.cache, args.seeds, args.k)
        path.write_bytes(pickle.dumps(evidence))
    if args.drop_gold:
        evidence = [({**row, "answers": []}, tuple(c for c in cands if c.article.id != row["article_id"]))
                    for row, cands in evidence]
    if args.drop_answer:
        evidence = [({**row, "answers": []}, tuple(c for c in cands if not _holds(c, row["answers"])))
                    for row, cands in evidence if row["answers"]]
    run(evidence, args)


def _holds(cand, answers: list[str]) -> bool:
    return m.contains_answer(cand.sentence.text, answers)


def fold_models(args) -> dict[str, object]:
    """question_id -> the span model of the fold that row was held out of (--span-folds)."""
    if not args.span_folds:
        return {}
    from benchmarks.train_span_model import FOLDS, fold_of
    from qa.answer.span_model import SpanModel

    models = [SpanModel(args.span_folds / f"fold{k}.npz") for k in range(FOLDS)]
    lines = [json.loads(x) for x in args.dataset.read_text(encoding="utf-8").splitlines() if x]
    return {r["question_id"]: models[fold_of(i)] for i, r in enumerate(lines) if i % 3}


def run(evidence, args) -> None:
    settings = load_settings()
    reader = ExtractiveAnswerer(settings)
    reader.warm_up()
    folds = fold_models(args)
    top1: list[float] = []
    stats: dict[str, list] = defaultdict(list)
    feats, misses, times, best_rows = [], [], [], []
    for qid, (row, cands) in enumerate(evidence):
        question = analyze(row["question"])
        if folds:
            reader.span_model = folds[row["question_id"]]
        t0 = time.perf_counter()
        answer = reader.answer(question, cands)
        times.append((time.perf_counter() - t0) * 1000)
        golds = row["answers"]
        if answer.abstained:
            pred = ""
        elif answer.short_answer:
            pred = answer.short_answer.text
        else:
            pred = m.strip_citation_markers(answer.text)
        em, f1 = m.exact_match(pred, golds), m.f1(pred, golds)
        stats[question.answer_type].append((em, f1, answer.abstained, bool(golds),
                                            answer.short_answer is not None))
        stats["ALL"].append(stats[question.answer_type][-1])
        if args.features:
            for s in reader.scored_spans(question, reader.sentences_to_read(question, cands)):
                feats.append((qid, [s.features.get(k, 0.0) for k in FEATURES], m.f1(s.text, golds)))
        if args.top1:
            top, _ = reader.choose(question, reader.sentences_to_read(question, cands))
            top1.append(m.f1(top.text, golds) if top is not None else 0.0)
        if args.confidence:
            read = reader.sentences_to_read(question, cands)
            top, _ = reader.choose(question, read)
            if top is not None:
                best_rows.append(([top.features.get(k, 0.0) for k in FEATURES], m.f1(top.text, golds),
                                  reader.cues(question).answer_type, bool(golds)))
        if f1 < 0.5 and len(misses) < args.misses:
            misses.append(f"[{question.answer_type}] {row['question']} -> {pred!r} | gold {golds}")
    report(stats, times)
    if top1:
        print(f"top-1 span F1 before abstention {100 * sum(top1) / len(top1):.1f}")
    for line in misses:
        print(line)
    if args.confidence:
        import numpy as np

        np.savez(args.confidence, X=np.array([r[0] for r in best_rows], dtype=np.float32),
                 y=np.array([r[1] for r in best_rows], dtype=np.float32),
                 type=np.array([r[2] for r in best_rows]), answerable=np.array([r[3] for r in best_rows]))
        print(f"wrote {len(best_rows)} questions' best spans to {args.confidence}")
    if args.features:
        import numpy as np

        np.savez(args.features, qid=np.array([q for q, _, _ in feats]),
                 X=np.array([f for _, f, _ in feats], dtype=np.float32),
                 y=np.array([y for _, _, y in feats], dtype=np.float32))
        print(f"wrote {len(feats)} candidate rows to {args.features}")


def report(stats: dict[str, list], times: list[float]) -> None:
    print(f"{'type':<14}{'n':>5}{'EM':>7}{'F1':>7}{'short':>7}{'abst':>6}{'abst ok':>8}")
    for name in sorted(stats, key=lambda k: (k != "ALL", k)):
        rows = stats[name]
        n = len(rows)
        em = 100 * sum(r[0] for r in rows) / n
        f1 = 100 * sum(r[1] for r in rows) / n
        short = sum(r[4] for r in rows)
        abst = sum(r[2] for r in rows)
        right = sum(1 for r in rows if r[2] and not r[3])
        print(f"{name:<14}{n:>5}{em:>7.1f}{f1:>7.1f}{short:>7}{abst:>6}{right:>8}")
    times.sort()
    print(f"reader p50 {times[len(times) // 2]:.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms")


if __name__ == "__main__":
    main()
