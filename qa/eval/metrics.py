"""Evaluation metrics as pure functions: no I/O, no models, no project records.

Answer accuracy follows the official SQuAD evaluation scripts so that the figures can be read
next to published ones:

- `normalize_answer`, `token_f1` and the exact-match comparison are the logic of the official
  SQuAD v1.1 script, "evaluate-v1.1.py" (Rajpurkar et al. 2016,
  https://rajpurkar.github.io/SQuAD-explorer/ -> "Evaluation Script v1.1",
  https://worksheets.codalab.org/rest/bundles/0xbcd57bee090b421c982906709c8c27e1/contents/blob/),
  kept as written: lower-case, drop ASCII punctuation (`string.punctuation`), drop the words
  a/an/the, fold white space. Unicode quotes and dashes are therefore *not* dropped, exactly as in
  the official script.
- The empty-gold case (a question the articles do not answer) follows the SQuAD v2.0 script
  ("evaluate-v2.0.py", Rajpurkar et al. 2018): the reference is the empty string, so an
  abstention (empty prediction) scores 1 and any answer scores 0.

Per-question scores are in [0, 1]; the runner averages them and reports 0-100.
Citation and retrieval metrics share one test, `contains_answer`: a normalised gold answer occurs
in the normalised text as whole words.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

from qa.text import strip_markers

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra white space (SQuAD v1.1)."""

    def remove_articles(text: str) -> str:
        return _ARTICLES.sub(" ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        return "".join(ch for ch in text if ch not in _PUNCT)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def strip_citation_markers(text: str) -> str:
    """Remove the "[n]" markers an answer carries, so they are not scored as answer tokens."""
    return strip_markers(text)


def _usable_golds(golds: Sequence[str]) -> list[str]:
    """Golds that survive normalisation; [""] when none do (SQuAD v2.0: no-answer reference)."""
    kept = [g for g in golds if normalize_answer(g)]
    return kept or [""]


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 between one prediction and one gold answer (SQuAD v1.1/v2.0)."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        # v2.0 rule: both empty -> 1 (correct abstention), otherwise 0
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer, best over golds."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in _usable_golds(golds)))


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Token F1, best over the gold answers; with no gold answer only "" scores 1."""
    return max(token_f1(prediction, g) for g in _usable_golds(golds))


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Does a normalised gold answer occur in the normalised text as whole words?

    Word boundaries are checked with `\\w`, so a gold next to a unicode quote (which the SQuAD
    normaliser keeps) still counts: "“nolimits”" contains "nolimits".
    """
    norm_text = normalize_answer(text)
    for gold in golds:
        norm_gold = normalize_answer(gold)
        if norm_gold and re.search(rf"(?<!\w){re.escape(norm_gold)}(?!\w)", norm_text):
            return True
    return False


def citation_precision(rows: Iterable[tuple[Sequence[str], Sequence[str]]]) -> float | None:
    """Share of all cited sentences (pooled over rows) that contain a gold answer.

    `rows` holds (cited sentences, gold answers) per answered question; None when nothing was
    cited at all.
    """
    cited = supported = 0
    for sentences, golds in rows:
        cited += len(sentences)
        supported += sum(contains_answer(s, golds) for s in sentences)
    return supported / cited if cited else None


def citation_recall(rows: Iterable[tuple[Sequence[str], Sequence[str]]]) -> float | None:
    """Share of answered questions with at least one cited sentence containing a gold answer."""
    flags = [any(contains_answer(s, golds) for s in sentences) for sentences, golds in rows]
    return sum(flags) / len(flags) if flags else None


def first_relevant_rank(
    retrieved: Sequence[tuple[str, str]], golds: Sequence[str], article_id: str | None = None
) -> int | None:
    """1-based rank of the first retrieved (article_id, text) containing a gold answer.

    When `article_id` is given, the chunk must also come from that article. None: not retrieved.
    """
    for rank, (chunk_article, text) in enumerate(retrieved, start=1):
        if article_id is not None and chunk_article != article_id:
            continue
        if contains_answer(text, golds):
            return rank
    return None


def recall_at_k(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of questions whose first relevant chunk is within the top k (None: not found)."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr(ranks: Sequence[int | None]) -> float | None:
    """Mean reciprocal rank of the first relevant chunk; a miss counts 0."""
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks)


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """How well the system abstains.

    - recall: share of unanswerable questions on which it abstained;
    - precision: share of its abstentions that were on unanswerable questions;
    - false_rate: share of answerable questions on which it (wrongly) abstained.
    Each is None when its denominator is zero.
    """
    pairs = list(zip(abstained, answerable, strict=True))
    unanswerable = [a for a, ok in pairs if not ok]
    answerable_abst = [a for a, ok in pairs if ok]
    n_abstained = sum(a for a, _ in pairs)
    right = sum(unanswerable)
    return {
        "recall": _ratio(right, len(unanswerable)),
        "precision": _ratio(right, n_abstained),
        "false_rate": _ratio(sum(answerable_abst), len(answerable_abst)),
    }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks.

    Same definition as numpy.percentile's default ("linear"); None for no values.
    """
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0-100: {q}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean; None for no values."""
    return sum(values) / len(values) if values else None
