"""Would a nonlinear ranker choose better spans? The reader's linear ranker against boosted trees.

    D=benchmarks/data/xquad_en_dev.jsonl
    .venv/bin/python benchmarks/reader_dev.py $D --exclude-every 3 --features train.npz
    .venv/bin/python benchmarks/reader_dev.py $D --every 3 --limit 300 --features heldout.npz
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ranker_compare.py train.npz heldout.npz

Dev data only (the candidate spans of ``train_reader.py``'s recipe). Every ranker orders one
question's spans with the shipped ranker's target (a softmax over them, target ~ F1**2) and the
shipped hand-set weights (``fixed_by_hand``), over the same ``scoring.FEATURES``:
- linear: ``train_reader.fit_listwise``, the shipped ranker's recipe;
- crosses: the same with every feature also crossed with the answer-type group (name, numeric,
  thing, other): a type-dependent weight for each feature;
- trees: the linear score corrected by regression trees, each a Newton step on the same softmax
  (as XGBoost does), printed after several numbers of trees;
- rerank: those trees fitted and applied only to the linear ranker's top 10 spans per question;
- pointwise: scikit-learn's HistGradientBoostingRegressor on each span's F1 alone.
Prints top-1 F1 (the F1 of the span each ranker puts first, averaged over questions, before any
abstention) on the held-out slice (trained on the other rows) and by cross-validation over all
the dev questions (folds by question). scikit-learn is needed here only, never by the reader.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.train_reader import fit_listwise
from qa.answer.scoring import FEATURES, KINDS, default_model

TREES = {"trees d3": dict(depth=3, rate=0.1, min_leaf=40, l2=0.01),
         "trees d4": dict(depth=4, rate=0.05, min_leaf=40, l2=1.0)}
RERANK = dict(depth=3, rate=0.1, min_leaf=20, l2=0.01)
CROSSED = ("name", "numeric", "thing", "other")
RERANK_TOP = 10


class Boosted:
    """Regression trees added to a linear score one by one, each a Newton step on the softmax
    cross-entropy over every question's spans; ``hidden`` features are never split on."""

    def __init__(self, linear: np.ndarray, hidden: np.ndarray, depth: int = 3, rate: float = 0.1,
                 min_leaf: int = 40, l2: float = 0.01, power: float = 2.0) -> None:
        self.linear, self.hidden = linear, hidden
        self.depth, self.rate, self.min_leaf, self.l2, self.power = depth, rate, min_leaf, l2, power
        self.trees: list = []
        self.leaves: list[np.ndarray] = []

    def fit(self, X: np.ndarray, y: np.ndarray, qid: np.ndarray, n_trees: int,
            check=None, every: int = 25) -> Boosted:
        from sklearn.tree import DecisionTreeRegressor

        gid, target = groups(y, qid, self.power)
        keep = gid >= 0  # questions without any overlapping span teach nothing
        Xk, gk, tk = X[keep].astype(np.float32), gid[keep], target[keep]
        s = Xk.astype(np.float64) @ self.linear
        Xk[:, self.hidden] = 0.0
        for n in range(1, n_trees + 1):
            p = softmax(s, gk)
            g, h = p - tk, np.maximum(p * (1 - p), 1e-6)
            tree = DecisionTreeRegressor(max_depth=self.depth, min_samples_leaf=self.min_leaf,
                                         random_state=n).fit(Xk, -g / h, sample_weight=h)
            node = tree.apply(Xk)
            size = tree.tree_.node_count
            value = -np.bincount(node, g, size) / (np.bincount(node, h, size) + self.l2) * self.rate
            self.trees.append(tree)
            self.leaves.append(value)
            s += value[node]
            if check and n % every == 0:
                check(self, n)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = X.astype(np.float64) @ self.linear
        for tree, value in zip(self.trees, self.leaves, strict=True):
            out += value[tree.apply(X.astype(np.float32))]
        return out


def groups(y: np.ndarray, qid: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    """Per span, its question's number (-1: no span of the question overlaps the answer) and its
    share of the question's target, ~ F1**power."""
    _, gid = np.unique(qid, return_inverse=True)
    weight = y.astype(np.float64) ** power
    total = np.bincount(gid, weight)
    useful = total[gid] > 0
    return np.where(useful, gid, -1), np.where(useful, weight / np.where(useful, total[gid], 1.0), 0.0)


def softmax(s: np.ndarray, gid: np.ndarray) -> np.ndarray:
    top = np.full(gid.max() + 1, -np.inf)
    np.maximum.at(top, gid, s)
    e = np.exp(s - top[gid])
    return e / np.bincount(gid, e)[gid]


def top1(scores: np.ndarray, y: np.ndarray, qid: np.ndarray) -> float:
    """Mean over questions of the F1 of the highest-scoring span (the first one on a tie)."""
    order = np.lexsort((-scores, qid))  # by question, best first
    first = np.r_[True, qid[order][1:] != qid[order][:-1]]
    return 100 * float(y[order][first].mean())


def top_k(scores: np.ndarray, qid: np.ndarray, k: int) -> np.ndarray:
    order = np.lexsort((-scores, qid))
    starts = np.r_[0, np.flatnonzero(qid[order][1:] != qid[order][:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    mask = np.zeros(len(scores), bool)
    mask[order[rank < k]] = True
    return mask


def misses(scores: np.ndarray, X: np.ndarray, y: np.ndarray, qid: np.ndarray) -> str:
    """What the ranker's choices are: exact, partly overlapping, or missing the answer; for a
    miss, whether another candidate overlaps it, in the same sentence, and at what rank."""
    exact = partial = wrong = overlapping = same = 0
    ranks = []
    sentence = X[:, FEATURES.index("sent_rank_inv")]
    for q in np.unique(qid):
        i = np.flatnonzero(qid == q)
        top, best = i[np.argmax(scores[i])], i[np.argmax(y[i])]
        exact, partial = exact + (y[top] == 1), partial + (0 < y[top] < 1)
        if y[top] == 0:
            wrong += 1
            if y[best] > 0:
                overlapping, same = overlapping + 1, same + (sentence[best] == sentence[top])
                ranks.append(int((scores[i] > scores[best]).sum()) + 1)
    return (f"{exact} exact, {partial} partly overlapping, {wrong} missing the answer; of these, "
            f"{overlapping} with a candidate that overlaps it ({same} in the chosen sentence), "
            f"ranked {float(np.median(ranks)):.0f} (median) of {len(y) / len(np.unique(qid)):.0f} spans")


def crossed(X: np.ndarray) -> np.ndarray:
    """The features, then each again times the answer-type group's indicator (the group is in
    the span-kind features: "name:entity", "numeric:number"...)."""
    columns = [X]
    for g in CROSSED:
        on = X[:, [FEATURES.index(f"{g}:{k}") for k in KINDS]].sum(axis=1, keepdims=True) > 0
        columns.append(X * on)
    return np.hstack(columns)


def compare(X, y, qid, test, fixed: dict[str, float], n_trees: int) -> dict[str, float]:
    """Every ranker trained on the rows not in ``test``, its top-1 F1 on the ``test`` rows."""
    a, b = ~test, test
    hidden = np.isin(FEATURES, list(fixed))
    hand = np.array([fixed.get(k, 0.0) for k in FEATURES])
    w = np.where(hidden, hand, fit_listwise(np.where(hidden, 0.0, X[a]), y[a], qid[a], 1e-2, power=2.0))
    out = {"linear": top1(X[b] @ w, y[b], qid[b])}
    print(f"linear ranker's choices: {misses(X[b] @ w, X[b], y[b], qid[b])}", flush=True)
    wc = fit_listwise(crossed(np.where(hidden, 0.0, X[a])), y[a], qid[a], 1e-2, power=2.0)
    out["crosses"] = top1(crossed(np.where(hidden, 0.0, X[b])) @ wc + X[b] @ hand, y[b], qid[b])
    for name, params in TREES.items():
        def check(m: Boosted, n: int, name: str = name) -> None:
            out[f"{name}, {n} trees"] = top1(m.predict(X[b]), y[b], qid[b])
        Boosted(w, hidden, **params).fit(X[a], y[a], qid[a], n_trees, check)
    ka, kb = top_k(X[a] @ w, qid[a], RERANK_TOP), top_k(X[b] @ w, qid[b], RERANK_TOP)

    def rerank(m: Boosted, n: int) -> None:
        s = X[b] @ w - 1e6 * ~kb  # below every reranked span
        s[kb] = m.predict(X[b][kb])
        out[f"rerank top {RERANK_TOP}, {n} trees"] = top1(s, y[b], qid[b])
    Boosted(w, hidden, **RERANK).fit(X[a][ka], y[a][ka], qid[a][ka], min(n_trees, 75), rerank)
    from sklearn.ensemble import HistGradientBoostingRegressor

    hgb = HistGradientBoostingRegressor(learning_rate=0.05, max_leaf_nodes=15, max_iter=300,
                                        min_samples_leaf=40, random_state=0).fit(X[a], y[a])
    out["pointwise"] = top1(hgb.predict(X[b]), y[b], qid[b])
    out[f"oracle top {RERANK_TOP} of linear"] = top1(np.where(kb, y[b], -1.0), y[b], qid[b])
    out["oracle"] = top1(y[b], y[b], qid[b])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("train", type=Path)
    p.add_argument("heldout", type=Path)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--trees", type=int, default=100)
    args = p.parse_args()
    fixed = {k: v["rank"] for k, v in default_model().provenance.get("fixed_by_hand", {}).items()}
    train, held = np.load(args.train), np.load(args.heldout)
    X = np.vstack([train["X"], held["X"]]).astype(np.float64)
    y = np.concatenate([train["y"], held["y"]]).astype(np.float64)
    qid = np.concatenate([train["qid"], held["qid"] + train["qid"].max() + 1])
    is_held = np.r_[np.zeros(len(train["y"]), bool), np.ones(len(held["y"]), bool)]
    results = {"held-out slice": compare(X, y, qid, is_held, fixed, args.trees)}
    questions = np.unique(qid)
    fold_of = dict(zip(questions, np.random.default_rng(0).permutation(len(questions)) % args.folds,
                       strict=True))
    fold = np.array([fold_of[q] for q in qid])
    folds = defaultdict(list)
    for f in range(args.folds):
        for name, value in compare(X, y, qid, fold == f, fixed, args.trees).items():
            folds[name].append(value)
    results[f"{args.folds}-fold CV"] = {k: float(np.mean(v)) for k, v in folds.items()}
    print(f"{'top-1 F1':<30}" + "".join(f"{k:>18}" for k in results))
    for name in results["held-out slice"]:
        print(f"{name:<30}" + "".join(f"{r[name]:>18.1f}" for r in results.values())
              + (f"   folds {[round(v, 1) for v in folds[name]]}" if name in folds else ""))


if __name__ == "__main__":
    main()
