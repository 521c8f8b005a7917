"""benchmarks/ranker_compare.py: its top-1 measure and its boosted trees (the rankers compared
with the reader's linear one)."""

import numpy as np

from benchmarks.ranker_compare import Boosted, top1, top_k
from qa.answer.scoring import FEATURES


def test_top1_takes_each_question_s_highest_scoring_span() -> None:
    qid = np.array([0, 0, 0, 1, 1])
    y = np.array([0.0, 1.0, 0.5, 0.2, 0.0])
    assert top1(np.array([0.1, 0.9, 0.3, 2.0, 1.0]), y, qid) == 60.0  # (1.0 + 0.2) / 2
    assert top1(np.array([0.9, 0.1, 0.3, 1.0, 2.0]), y, qid) == 0.0
    assert top_k(np.array([0.1, 0.9, 0.3, 2.0, 1.0]), qid, 2).tolist() == [False, True, True, True, True]


def spans(n: int, seed: int):
    """Questions whose right span depends on an interaction: a span of the expected type is right
    when it fills the wh-word's role, a merely near one when it sits next to the question's words."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n * 6, len(FEATURES)))
    kind = rng.integers(0, 2, n * 6)
    X[np.arange(n * 6), np.where(kind == 0, FEATURES.index("fit"), FEATURES.index("near"))] = 1.0
    X[:, FEATURES.index("role_match")] = rng.integers(0, 2, n * 6)
    X[:, FEATURES.index("dist_log")] = rng.uniform(0, 3, n * 6)
    role, dist = X[:, FEATURES.index("role_match")], X[:, FEATURES.index("dist_log")]
    right = np.where(kind == 0, role == 1, dist < 0.5)
    return X, right.astype(float), np.repeat(np.arange(n), 6)


def test_the_trees_learn_what_no_single_feature_says() -> None:
    X, y, qid = spans(80, seed=0)
    model = Boosted(np.zeros(len(FEATURES)), np.zeros(len(FEATURES), bool), depth=3, rate=0.3,
                    min_leaf=2).fit(X, y, qid, n_trees=15)
    Xt, yt, qt = spans(80, seed=1)  # questions not trained on
    learned = top1(model.predict(Xt), yt, qt)
    assert learned > top1(yt, yt, qt) - 5  # about as good as knowing the answers
    for name in ("fit", "near", "role_match"):
        assert learned > top1(Xt[:, FEATURES.index(name)], yt, qt) + 20
