"""Choose the extractive reader's abstention threshold per answer type on development data.

    .venv/bin/python benchmarks/abstain_thresholds.py POS.npz NEG.npz [SEED.npz ...]

Each file comes from ``reader_dev.py --confidence``: per question, the features of the span the
reader would answer with, its F1 and the question's answer type (rows of a ``--drop-gold`` run
have no answer: abstaining is right). For each type, the threshold on the confidence model
(``qa/answer/reader_weights.json``) that maximises the SQuAD-2-style score is printed: an answered
question scores its F1, an abstention scores 1 on an unanswerable question and 0 otherwise. Types
with fewer than ``--min`` questions get the threshold chosen over all types.

``--unanswerable-share`` weights the rows so that unanswerable questions make up that share of
the score, whatever their share of the files (a ``--drop-gold`` run doubles every question, so
files mix about half and half; a reader's users mostly ask what the articles answer).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.answer.scoring import FEATURES, default_model

GRID = np.round(np.arange(0.0, 0.951, 0.025), 3)


def best_threshold(p: np.ndarray, f1: np.ndarray, answerable: np.ndarray,
                   share: float | None = None) -> tuple[float, float]:
    weight = np.ones(len(p))
    if share is not None and answerable.any() and (~answerable).any():
        weight = np.where(answerable, (1 - share) / answerable.mean(), share / (~answerable).mean())
    scores = [float(np.average(np.where(p >= t, np.where(answerable, f1, 0.0), ~answerable),
                               weights=weight)) for t in GRID]
    i = int(np.argmax(scores))
    return float(GRID[i]), 100 * scores[i]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--min", type=int, default=10)
    ap.add_argument("--unanswerable-share", type=float, default=None,
                    help="weight rows so that unanswerable questions are this share "
                    "(default: as in the files)")
    args = ap.parse_args()
    model = default_model()
    w = np.array([model.confidence.get(k, 0.0) for k in FEATURES])
    X, f1, kinds, answerable = [], [], [], []
    for path in args.files:
        d = np.load(path)
        X.append(d["X"])
        f1.append(d["y"])
        kinds.append(d["type"])
        answerable.append(d["answerable"].astype(bool))
    Xa, ya, ta, aa = np.vstack(X), np.concatenate(f1), np.concatenate(kinds), np.concatenate(answerable)
    p = 1.0 / (1.0 + np.exp(-(Xa @ w)))
    overall, score = best_threshold(p, ya, aa, args.unanswerable_share)
    print(f"all types: n={len(ya)} threshold {overall} score {score:.1f}")
    for kind in sorted(set(ta.tolist())):
        m = ta == kind
        t, s = best_threshold(p[m], ya[m], aa[m], args.unanswerable_share)
        chosen = t if m.sum() >= args.min else overall
        print(f"{kind:<13} n={int(m.sum()):>4} (unanswerable {int((~aa[m]).sum()):>3}) best {t:.3f} "
              f"({s:.1f}) -> use {chosen:.3f}")


if __name__ == "__main__":
    main()
