"""The sentences behind retrieved chunks, read from one snapshot, scored against the question.

Both answerers start here: each candidate sentence gets a support score that mixes the dense
similarity (question vs the stored sentence vector) with a lexical coverage of the question's
content words weighted by inverse document frequency over the candidates. Dense similarity alone
rates any sentence on the same topic highly; coverage is what tells "the meeting was chaired by"
from "the meeting discussed".
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from qa.store.index import Index
from qa.text import content_terms
from qa.types import Article, Hit, Sentence

DENSE_WEIGHT = 0.5
LEXICAL_WEIGHT = 0.5
CAPTION_PENALTY = 0.05  # a caption may say the same as the body; the body is the better citation
CONTEXT_WEIGHT = 0.5  # weight of question words found only in the previous sentence
RANK_BONUS = 0.03  # a small tie-breaker for sentences of higher-ranked chunks


@dataclass(frozen=True)
class Candidate:
    sentence: Sentence
    article: Article
    hit_rank: int
    dense: float
    lexical: float
    score: float
    context: str = ""  # the sentence before, which news often leans on ("That meeting...")


def load_candidates(index: Index, hits: list[Hit], question: str, qvec: np.ndarray) -> list[Candidate]:
    """Every sentence of the hit chunks, once, scored and sorted best first."""
    rows: list[tuple[Sentence, Article, int, np.ndarray, str]] = []
    seen: set[tuple[str, int]] = set()
    with index.snapshot() as reader:
        articles: dict[str, Article | None] = {}
        for rank, hit in enumerate(hits):
            c = hit.chunk
            if c.article_id not in articles:
                articles[c.article_id] = reader.article(c.article_id)
            article = articles[c.article_id]
            if article is None:
                continue  # replaced or removed since retrieval
            first = max(0, c.first_sentence - 1)  # one more, as context for the first
            stored = reader.sentences(article, first, c.last_sentence)
            for before, current in zip([None, *stored], stored, strict=False):
                key = (article.id, current.sentence.idx)
                if current.sentence.idx >= c.first_sentence and key not in seen:
                    seen.add(key)
                    context = before.sentence.text if before else ""
                    rows.append((current.sentence, article, rank, current.vector, context))
    return score_sentences(question, qvec, rows)


def score_sentences(question, qvec, rows) -> list[Candidate]:
    if not rows:
        return []
    q_terms = set(content_terms(question))
    doc_terms = [set(content_terms(row[0].text)) for row in rows]
    idf = _idf(doc_terms)
    q_weight = sum(idf.get(t, 1.0) for t in q_terms) or 1.0
    dense = np.vstack([row[3] for row in rows]) @ qvec.astype(np.float32)
    out = []
    for (sentence, article, rank, _, context), terms, d in zip(rows, doc_terms, dense, strict=True):
        # News sentences refer back ("That meeting..."): the previous sentence's words count half.
        context_terms = set(content_terms(context)) - terms
        lexical = (sum(idf.get(t, 1.0) for t in q_terms if t in terms)
                   + CONTEXT_WEIGHT * sum(idf.get(t, 1.0) for t in q_terms if t in context_terms)
                   ) / q_weight
        score = DENSE_WEIGHT * float(d) + LEXICAL_WEIGHT * lexical + RANK_BONUS / (1 + rank)
        if sentence.is_caption:
            score -= CAPTION_PENALTY
        out.append(Candidate(sentence, article, rank, float(d), lexical, score, context))
    out.sort(key=lambda c: -c.score)
    return out


def _idf(doc_terms: list[set[str]]) -> dict[str, float]:
    df = Counter(t for terms in doc_terms for t in terms)
    n = len(doc_terms)
    return {t: math.log(1 + (n + 1) / (c + 0.5)) for t, c in df.items()}
