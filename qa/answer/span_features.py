"""The neural span scorer's logits (``span_model``) as features of the reader's candidate spans.

The model scores word pieces; the reader's candidates are spaCy token ranges. A candidate is
mapped by its character offsets onto the word pieces it overlaps, and described by the model's
score of that piece range relative to the other spans read (the names are in
``scoring.FEATURES``, so that the linear ranker and the confidence model weigh them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.answer.span_model import SentenceLogits

MAX_SPAN_PIECES = 30  # word pieces: longer spans are not scored by the span model
NN_FLOOR = -12.0  # log-probabilities and margins below this are all "hopeless"


@dataclass(frozen=True)
class NeuralView:
    """The span model's logits for one question's sentences, normalised once: ``norm`` is the
    log of the summed exp-scores of every span of every sentence (so a span's score minus it is
    its log-probability), ``best`` the best span (sentence, first and last word piece)."""

    logits: tuple[SentenceLogits, ...]
    norm: float
    best: tuple[int, int, int]
    sentence_best: tuple[float, ...]


def _span_scores(lg: SentenceLogits) -> np.ndarray:
    """start[i] + end[j] for j in [i, i + MAX_SPAN_PIECES), -inf elsewhere."""
    n = len(lg.start)
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    ok = (j >= i) & (j < i + MAX_SPAN_PIECES)
    return np.where(ok, lg.start[:, None] + lg.end[None, :], -np.inf)


def neural_view(logits: list[SentenceLogits]) -> NeuralView | None:
    scores = [_span_scores(lg) for lg in logits]
    if not any(s.size for s in scores):
        return None
    tops = [float(s.max()) if s.size else -np.inf for s in scores]
    n = int(np.argmax(tops))
    i, j = np.unravel_index(int(np.argmax(scores[n])), scores[n].shape)
    top = max(tops)
    norm = top + math.log(sum(float(np.exp(s - top).sum()) for s in scores if s.size))
    return NeuralView(tuple(logits), norm, (n, int(i), int(j)), tuple(tops))


def neural_features(view: NeuralView | None, sentence: int, a: int, b: int) -> dict[str, float]:
    """The span model's opinion of the candidate at characters [a, b) of sentence ``sentence``:
    its log-probability among all spans read, its margin to its sentence's best span, whether it
    is the model's best span, its word-piece overlap (F1) with that best span, and how much the
    model prefers "no answer here" for its sentence. ``nn_missing``: the model did not see it
    (truncated sentence, or no model)."""
    if view is None:
        return {"nn_missing": 1.0}
    lg = view.logits[sentence]
    pieces = np.flatnonzero((lg.offsets[:, 0] < b) & (lg.offsets[:, 1] > a))
    if not len(pieces):
        return {"nn_missing": 1.0}
    i, j = int(pieces[0]), int(pieces[-1])
    score = float(lg.start[i] + lg.end[j]) if j - i < MAX_SPAN_PIECES else -np.inf
    top = view.sentence_best[sentence]
    n, bi, bj = view.best
    overlap = 0.0
    if n == sentence:
        common = max(0, min(j, bj) - max(i, bi) + 1)
        overlap = 2 * common / ((j - i + 1) + (bj - bi + 1))
    return {"nn_logp": max(NN_FLOOR, score - view.norm), "nn_margin": max(NN_FLOOR, score - top),
            "nn_best": float((n, bi, bj) == (sentence, i, j)), "nn_overlap": overlap,
            "nn_null": max(NN_FLOOR, min(-NN_FLOOR, lg.null - top))}
