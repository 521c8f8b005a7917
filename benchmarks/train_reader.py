"""Train the extractive reader's span scorer: a logistic regression over ``qa.answer.scoring``'s
features, fitted with numpy (no extra dependency).

    D=benchmarks/data/xquad_en_dev.jsonl
    FIX="tense_clash=-1.5:-1.0 participle_agent=1.0:0.5 title_clash=-1.0:-0.5 title_match=0.5:0.25"
    # 0. the neural span scorer and its cross-fitting models: benchmarks/train_span_model.py
    #    (--folds-dir F). Every reader_dev.py run on the training rows (--exclude-every 3) below
    #    takes --span-folds F, so that their nn_* features are out-of-fold
    # 1. the ranker, from the candidate spans of the training rows
    .venv/bin/python benchmarks/reader_dev.py $D --exclude-every 3 --span-folds F --features train.npz
    .venv/bin/python benchmarks/reader_dev.py $D --every 3 --limit 300 --features heldout.npz
    .venv/bin/python benchmarks/train_reader.py train.npz --heldout heldout.npz --fixed $FIX \\
        --out qa/answer/reader_weights.json
    # 2. the confidence model, from the spans that ranker answers with, with and without the
    #    question's article (reader_dev reads the weights file written in step 1)
    .venv/bin/python benchmarks/reader_dev.py $D --exclude-every 3 --span-folds F --confidence pos.npz
    .venv/bin/python benchmarks/reader_dev.py $D --exclude-every 3 --span-folds F --drop-gold \\
        --confidence neg.npz
    cp qa/answer/reader_weights.json rank.json
    .venv/bin/python benchmarks/train_reader.py train.npz --heldout heldout.npz --fixed $FIX \\
        --rank-from rank.json --confidence-data pos.npz neg.npz --out qa/answer/reader_weights.json
    # 3. the thresholds: see benchmarks/abstain_thresholds.py

Each row is one candidate span; its target is the span's SQuAD token F1 with the gold answer
(soft labels: a span that half-overlaps the answer is half right). Trained only on XQuAD dev rows
(CC BY-SA 4.0), never on the rows any figure is reported on. Prints the top-1 F1 (the best span per
question, as the reader answers) on the training and held-out rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.answer.scoring import FEATURES


def fit(X: np.ndarray, y: np.ndarray, l2: float, steps: int = 3000, lr: float = 0.5) -> np.ndarray:
    """Logistic regression with soft targets, L2 on every weight but the bias, by Adam."""
    w = np.zeros(X.shape[1])
    m, v = np.zeros_like(w), np.zeros_like(w)
    reg = np.full_like(w, l2)
    reg[FEATURES.index("bias")] = 0.0
    for t in range(1, steps + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ w, -30, 30)))
        grad = X.T @ (p - y) / len(y) + reg * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= lr / np.sqrt(t) * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


def fit_listwise(X: np.ndarray, y: np.ndarray, qid: np.ndarray, l2: float, power: float = 4.0,
                 steps: int = 800, lr: float = 0.3) -> np.ndarray:
    """A conditional logit over each question's spans (a softmax per question), by Adam.

    The target spreads over the question's spans in proportion to F1**power, so the exact answer
    counts most; questions with no overlapping span teach nothing and are left out.
    """
    order = np.argsort(qid, kind="stable")
    X, y, qid = X[order], y[order], qid[order]
    starts = np.r_[0, np.flatnonzero(np.diff(qid)) + 1]
    groups = [(a, b) for a, b in zip(starts, np.r_[starts[1:], len(qid)], strict=True) if y[a:b].max() > 0]
    rows = np.concatenate([np.arange(a, b) for a, b in groups])
    gid = np.concatenate([np.full(b - a, i) for i, (a, b) in enumerate(groups)])
    target = np.concatenate([y[a:b] ** power / (y[a:b] ** power).sum() for a, b in groups])
    X = X[rows]
    w = np.zeros(X.shape[1])
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        s = X @ w
        top = np.full(len(groups), -np.inf)
        np.maximum.at(top, gid, s)
        e = np.exp(s - top[gid])
        z = np.zeros(len(groups))
        np.add.at(z, gid, e)
        grad = X.T @ (e / z[gid] - target) / len(groups) + l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= lr / np.sqrt(t) * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


def top1(data, w: np.ndarray) -> float:
    """Mean over questions of the F1 of the highest-scoring span (0 when a question has none)."""
    scores = data["X"] @ w
    best: dict[int, tuple[float, float]] = {}
    for q, s, y in zip(data["qid"], scores, data["y"], strict=True):
        if q not in best or s > best[q][0]:
            best[int(q)] = (s, y)
    return 100 * float(np.mean([y for _, y in best.values()])) if best else 0.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("train", type=Path)
    p.add_argument("--heldout", type=Path)
    p.add_argument("--l2", type=float, default=1e-2)
    p.add_argument("--power", type=float, default=2.0,
                   help="the ranker's target per span ~ F1**power (higher: the exact answer counts more)")
    p.add_argument("--confidence-data", type=Path, nargs="*", default=[],
                   help="reader_dev.py --confidence files: the best span of each question and its F1 "
                        "(with --drop-gold: of questions whose article was removed)")
    p.add_argument("--rank-from", type=Path, help="a weights file whose ranker is kept as it is")
    p.add_argument("--fixed", nargs="*", default=[], metavar="NAME=RANK[:CONFIDENCE]",
                   help="features too rare in the training data to be learned: left out of the fit "
                        "and given these weights (documented in the provenance)")
    p.add_argument("--show", type=int, default=25, help="print the largest weights")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    train = np.load(args.train)
    X, y = train["X"].astype(np.float64), train["y"].astype(np.float64)
    fixed = {name: [float(v) for v in value.split(":")] for name, value in
             (item.split("=") for item in args.fixed)}
    X[:, [FEATURES.index(name) for name in fixed]] = 0.0  # no say in the fit
    if args.rank_from:  # keep a trained ranker, fit only the confidence model
        kept = json.loads(args.rank_from.read_text(encoding="utf-8"))
        w = np.array([dict(zip(kept["features"], kept["rank"], strict=True)).get(k, 0.0) for k in FEATURES])
    else:
        w = fit_listwise(X, y, train["qid"], args.l2, power=args.power)
    confidence = np.zeros_like(w)
    if args.confidence_data:  # the confidence of the span the reader answers with
        parts = [np.load(path) for path in args.confidence_data]
        cx = np.vstack([d["X"] for d in parts]).astype(np.float64)
        cx[:, [FEATURES.index(name) for name in fixed]] = 0.0
        confidence = fit(cx, np.concatenate([d["y"] for d in parts]).astype(np.float64), args.l2)
    for name, values in fixed.items():
        w[FEATURES.index(name)] = values[0]
        confidence[FEATURES.index(name)] = values[1] if len(values) > 1 else 0.0
    n_q = len(set(train["qid"].tolist()))
    print(f"trained on {len(train['y'])} spans of {n_q} questions; top-1 F1 {top1(train, w):.1f}")
    if args.heldout:
        held = np.load(args.heldout)
        print(f"held out: top-1 F1 {top1(held, w):.1f} over {len(set(held['qid'].tolist()))} questions")
    for name, weight in sorted(zip(FEATURES, w, strict=True), key=lambda x: -abs(x[1]))[:args.show]:
        print(f"  {name:<22}{weight:+.3f}")
    if args.out:
        provenance = {
            "trained_on": "XQuAD English dev questions (xquad_en_dev.jsonl, CC BY-SA 4.0): the rows "
                          "whose position is not a multiple of 3; no row of the reported sample or "
                          "of the seed eval set",
            "questions": n_q, "spans": len(train["y"]), "l2": args.l2, "power": args.power,
            "confidence_trained_on": [p.name for p in args.confidence_data] or "nothing yet: zeros",
            "target": "SQuAD token F1 of the span with the gold answer; rank: a softmax over each "
                      "question's spans (target ~ F1**power); confidence: a logistic regression on the "
                      "best-ranked span of each question, with the same questions asked again without "
                      "their article (target 0)",
            "fixed_by_hand": {name: {"rank": v[0], "confidence": v[1] if len(v) > 1 else 0.0}
                              for name, v in fixed.items()},
            "question_analysis": "qa.question.analyze: spaCy's parse of the interrogative part",
            "script": "benchmarks/train_reader.py", "date": dt.date.today().isoformat(),
        }
        args.out.write_text(json.dumps({"features": list(FEATURES), "rank": [round(float(x), 5) for x in w],
                                        "confidence": [round(float(x), 5) for x in confidence],
                                        "provenance": provenance}, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
