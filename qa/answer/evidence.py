"""The sentences behind retrieved chunks, and the best sentences found directly, read from one
snapshot and ranked by how well each one answers the question.

Both answerers start here. A sentence's support score mixes:
- its dense similarity to the question (stored sentence vector vs question vector);
- its coverage of the question's words, weighted by inverse document frequency over the
  candidates and by role: words of the interrogative part count fully, the question's names
  and the focus noun more, words of the context part ("A storm hit the coast this week.") less,
  and words found only in the sentence before it or in the headline half;
- a bonus when the sentence holds the kind of thing asked for (a number for "how many", a
  statement by the speaker asked about for "what did X say": a quote's speaker and the speech
  verb count as words of the sentence), and when its article was published inside the
  question's date window;
- a penalty for captions and for fragments of three words or fewer (a name label above a
  photo is not evidence of anything said).
Dense similarity alone rates any sentence on the same topic highly; coverage of the interrogative
part is what tells "the meeting was chaired by" from "the meeting discussed".
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.answer.attribution import Attribution, attribute_run, same_speaker
from qa.parsing import StoredParse
from qa.question.dates import MONTHS, WEEKDAYS
from qa.question.lexicon import SPEECH_VERBS
from qa.retrieve import DatePreference, SentenceHit, parse_date
from qa.store.protocol import Store, StoredSentence
from qa.text import content_terms, stem
from qa.types import Article, Hit, Question, Sentence

DENSE_WEIGHT = 0.5
LEXICAL_WEIGHT = 0.5
CAPTION_PENALTY = 0.05  # a caption may say the same as the body; the body is the better citation
CONTEXT_WEIGHT = 0.5  # weight of question words found only in the previous sentence
RANK_BONUS = 0.03  # a small tie-breaker for sentences of higher-ranked chunks
QUESTION_CONTEXT_WEIGHT = 0.4  # words of the question's context part, vs its interrogative part
NAME_WEIGHT = 1.5  # the question's named entities and its focus noun
TYPE_FIT_BONUS = 0.04  # holds the kind of thing asked for
SPEAKER_BONUS = 0.12  # a statement by the speaker asked about ("What did Healey say?")
WINDOW_BONUS = 0.2  # published inside the question's date window (as retrieval prefers it)
FRAGMENT_WORDS = 3  # a "sentence" this short is a label ("John Healey" above a photo)
FRAGMENT_PENALTY = 0.1


@dataclass(frozen=True)
class Candidate:
    """One evidence sentence with its scores.

    ``speaker`` and ``quote_span``: when the sentence reports what someone said, who said it (as
    written, "he" resolved to the last name before it) and the statement's character offsets in
    ``article.text`` (``article.text[a:b]``, without the attribution and quotation marks), so
    that "What did Healey say?" can be answered with the quote. ``sentence_rank`` is the
    sentence's rank in the direct sentence search (0 = best), ``None`` when it was not found
    there but came with a retrieved chunk.
    """

    sentence: Sentence
    article: Article
    hit_rank: int
    dense: float
    lexical: float
    score: float
    context: str = ""  # the sentence before, which news often leans on ("That meeting...")
    speaker: str | None = None
    quote_span: tuple[int, int] | None = None
    sentence_rank: int | None = None
    parse: StoredParse | None = None  # the index's parse of the sentence, if it stores one


@dataclass
class _Row:
    sentence: Sentence
    article: Article
    rank: int
    vector: np.ndarray
    context: str
    attribution: Attribution | None = None
    sentence_rank: int | None = None
    parse: StoredParse | None = None


def load_candidates(index: Store, hits: Sequence[Hit], question: Question | str, qvec: np.ndarray,
                    sentence_hits: Sequence[SentenceHit] = ()) -> list[Candidate]:
    """Every sentence of the hit chunks and every directly found sentence, once, scored and
    sorted best first."""
    rows: dict[tuple[str, int], _Row] = {}
    with index.snapshot() as reader:
        # Two reads in all (the articles, then every run of sentences), not two per chunk: over
        # a network each read is a round trip. A found sentence's run is read even when a
        # chunk's run turns out to hold it (a few sentences more, one read fewer).
        articles = reader.articles_by_id(list(dict.fromkeys(
            [hit.chunk.article_id for hit in hits] + [found.article_id for found in sentence_hits])))
        chunk_runs = [(rank, hit.chunk, articles[hit.chunk.article_id]) for rank, hit in enumerate(hits)
                      if hit.chunk.article_id in articles]  # absent: replaced or removed since
        found_runs = [(found, articles[found.article_id]) for found in sentence_hits
                      if found.article_id in articles]
        runs = reader.sentence_runs(
            [(a, max(0, c.first_sentence - 1), c.last_sentence + 1) for _, c, a in chunk_runs]
            + [(a, max(0, f.idx - 2), f.idx + 1) for f, a in found_runs])
    for (rank, c, article), run in zip(chunk_runs, runs[:len(chunk_runs)], strict=True):
        _add_run(rows, article, run, rank, c.first_sentence, c.last_sentence)
    for (found, article), run in zip(found_runs, runs[len(chunk_runs):], strict=True):
        key = (article.id, found.idx)
        if key not in rows:
            _add_run(rows, article, run, len(hits) + found.rank, found.idx, found.idx)
        if key in rows:
            rows[key].sentence_rank = found.rank
    return score_sentences(question, qvec, list(rows.values()))


def _add_run(rows: dict[tuple[str, int], _Row], article: Article, stored: list[StoredSentence],
             rank: int, first: int, last: int) -> None:
    """Add sentences ``first..last`` of a run read with a sentence of context on each side (the
    one before is what "he said" and "That meeting" lean on; the one after closes quotes)."""
    attributions = attribute_run([s.sentence.text for s in stored])
    for i, current in enumerate(stored):
        key = (article.id, current.sentence.idx)
        if first <= current.sentence.idx <= last and key not in rows:
            context = stored[i - 1].sentence.text if i > 0 else ""
            rows[key] = _Row(current.sentence, article, rank, current.vector, context,
                             attributions[i], parse=current.parse)


def score_sentences(question: Question | str, qvec: np.ndarray, rows: Sequence) -> list[Candidate]:
    """Score and sort candidate rows: ``_Row``s, or (sentence, article, rank, vector, context)
    tuples."""
    if not rows:
        return []
    rows = [r if isinstance(r, _Row) else _Row(*r) for r in rows]
    asked = question if isinstance(question, Question) else Question(question, question)
    terms_of = functools.lru_cache(maxsize=None)(lambda text: frozenset(content_terms(text)))
    doc_terms = [set(terms_of(r.sentence.text)) for r in rows]
    weights = _term_weights(asked, _idf(doc_terms))
    doc_terms = [terms | _attributed_terms(asked, r.attribution) for terms, r in zip(doc_terms, rows,
                                                                                      strict=True)]
    total = sum(weights.values()) or 1.0
    dense = np.vstack([r.vector for r in rows]) @ qvec.astype(np.float32)
    dates = DatePreference.of(asked) if isinstance(question, Question) else DatePreference()
    out = []
    for row, terms, d in zip(rows, doc_terms, dense, strict=True):
        # News sentences refer back ("That meeting...", "The bridge"): the words of the previous
        # sentence and of the headline count half.
        context_terms = (terms_of(row.context) | terms_of(row.article.title)) - terms
        lexical = (sum(w for t, w in weights.items() if t in terms)
                   + CONTEXT_WEIGHT * sum(w for t, w in weights.items() if t in context_terms)
                   ) / total
        score = (DENSE_WEIGHT * float(d) + LEXICAL_WEIGHT * lexical + RANK_BONUS / (1 + row.rank)
                 + _bonus(asked, row, dates))
        if row.sentence.is_caption:
            score -= CAPTION_PENALTY
        if len(row.sentence.text.split()) <= FRAGMENT_WORDS:
            score -= FRAGMENT_PENALTY
        out.append(_candidate(row, float(d), lexical, score))
    out.sort(key=lambda c: -c.score)
    return out


def _candidate(row: _Row, dense: float, lexical: float, score: float) -> Candidate:
    a = row.attribution
    span = (row.sentence.start + a.start, row.sentence.start + a.end) if a else None
    return Candidate(row.sentence, row.article, row.rank, dense, lexical, score, row.context,
                     speaker=a.speaker if a else None, quote_span=span,
                     sentence_rank=row.sentence_rank, parse=row.parse)


def _attributed_terms(asked: Question, attribution: Attribution | None) -> set[str]:
    """What an attribution adds to a sentence's words: its speaker as resolved ("He added" ->
    Healey) and, when the question asks what someone said, the speech verb ("said" ~ "tell")."""
    if attribution is None:
        return set()
    terms = set(content_terms(attribution.speaker))
    if asked.main_verb in SPEECH_VERBS:
        terms.add(stem(asked.main_verb))
        terms.update(content_terms(asked.interrogative.split()[-1]))  # "say?" as written
    return terms


def _term_weights(asked: Question, idf: dict[str, float]) -> dict[str, float]:
    """Each question word's weight: its idf times its role (see the module docstring)."""
    interrogative = content_terms(asked.interrogative)
    names = {stem(w.lower()) for text, _ in asked.entities for w in re.findall(r"\w+", text)}
    if asked.focus_noun:
        names.add(stem(asked.focus_noun))
    weights: dict[str, float] = {}
    for term in content_terms(asked.context):
        weights[term] = idf.get(term, 1.0) * QUESTION_CONTEXT_WEIGHT
    for term in interrogative:
        weights[term] = idf.get(term, 1.0) * (NAME_WEIGHT if term in names else 1.0)
    if asked.window is not None:  # "this week", "on Sunday" are dates, not topic words
        for word in re.findall(r"\w+", asked.window.phrase.lower()):
            weights.pop(stem(word), None)
    return weights


_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozens?)\b",
                     re.IGNORECASE)
_DATE = re.compile(r"\b(\d{4}|" + "|".join(MONTHS + WEEKDAYS) + r"|yesterday|today|week|month|"
                   r"year)\b", re.IGNORECASE)
_TYPE_FIT = {"number": _NUMBER, "money": _NUMBER, "percent": _NUMBER, "duration": _NUMBER,
             "date": _DATE}


def _bonus(asked: Question, row: _Row, dates: DatePreference) -> float:
    bonus = 0.0
    kind = asked.answer_type
    if kind == "statement" and row.attribution is not None:
        asked_speaker = asked.speaker
        if asked_speaker and same_speaker(asked_speaker, row.attribution.speaker):
            bonus += SPEAKER_BONUS
        elif not asked_speaker:
            bonus += TYPE_FIT_BONUS
    elif kind in _TYPE_FIT and _TYPE_FIT[kind].search(row.sentence.text):
        bonus += TYPE_FIT_BONUS
    if dates.window is not None:
        day = parse_date(row.article.date)
        if day is not None and dates.window.start <= day <= dates.window.end:
            bonus += WINDOW_BONUS
    return bonus


def _idf(doc_terms: list[set[str]]) -> dict[str, float]:
    df = Counter(t for terms in doc_terms for t in terms)
    n = len(doc_terms)
    return {t: math.log(1 + (n + 1) / (c + 0.5)) for t, c in df.items()}
