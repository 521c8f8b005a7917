"""The default answerer: extractive, no generative model.

It reads the best few evidence sentences (see ``evidence``) with spaCy's parser (the parse the
index stored with each sentence, when it stores them: ``qa.parsing``), proposes
candidate spans in them (``spans``: entities, noun phrases, numbers with their hedge, quotations,
reported and purpose clauses, lists), scores every span with a small logistic model (``scoring``)
and answers with the best one: its exact words, its offsets in the stored article
(``Answer.short_answer``) and the sentences that contain it, cited. When no span of the expected
kind relates to the question well enough (a threshold per answer type, ``ABSTAIN_BELOW``), it
abstains rather than guess.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from qa.answer import consensus
from qa.answer.cues import Cues, read_cues
from qa.answer.evidence import Candidate
from qa.answer.protocol import Event, word_tokens
from qa.answer.quotes import balance_quotes, widen_quote
from qa.answer.relations import (
    aliases,
    counts_else,
    figure_of_another,
    in_speaker,
    name_absent,
    named_in,
    names_other,
    names_their_noun,
    off_focus,
    off_topic,
)
from qa.answer.scoring import Model, Sentence, default_model, features
from qa.answer.span_features import neural_features, neural_view
from qa.answer.span_model import SpanScorer, default_span_model
from qa.answer.spans import Span, candidates
from qa.config import Settings
from qa.parsing import IdentifiedParser, Parse, Parser, SpacyParser, StoredParse, decode
from qa.question.followup import Message, condense
from qa.text import content_terms, stem, words
from qa.types import ABSTAIN_MESSAGE, Answer, Citation, Question, ShortAnswer

READ_SENTENCES = 4  # evidence sentences parsed per question: the answer is in the top 4 for 95%
PARSE_CACHE_SIZE = 50_000
MIN_WORDS = 4
NAMED_TERM_PENALTY = 0.25  # a sentence missing a name the question insists on barely supports it
SUPPORT_SHARE = 0.5  # a further sentence is cited when its copy of the answer scores this share

# Abstain when the confidence of the best span is below this, per expected answer type. Set by
# benchmarks/abstain_thresholds.py on development data: the 300-row XQuAD dev slice (rows 0, 3, 6...
# of xquad_en_dev.jsonl, not used for training) asked with and without its article, and the
# questions written about the seed article (benchmarks/data/seed_dev.jsonl): for each type the
# threshold that maximises SQuAD-2-style F1 (abstaining scores 1 on an unanswerable question, 0
# otherwise), with the rows weighted so that one question in five is unanswerable
# (--unanswerable-share 0.2: the files mix about half and half, while readers mostly ask what the
# articles do answer); types with fewer than 10 development questions take the one chosen over
# all types (0.125). "statement" is low: its answers are already limited to words attributed to
# the person asked about.
_NAMED_TYPES = frozenset({"person", "organisation", "place", "work", "thing"})

ABSTAIN_BELOW: dict[str, float] = {
    "person": 0.2, "organisation": 0.125, "place": 0.225, "date": 0.3, "duration": 0.125,
    "number": 0.225, "money": 0.125, "percent": 0.125, "work": 0.125, "thing": 0.125,
    "statement": 0.05, "reason": 0.125, "other": 0.175,
}


@dataclass(frozen=True)
class ScoredSpan:
    """One candidate answer: a span of one evidence sentence, its features and probability."""

    text: str
    span: Span
    sentence: int  # index into the evidence sentences read
    features: dict[str, float]
    score: float  # the ranking model's score: the best span of a question answers it
    probability: float  # the confidence model's: how likely this span is right


class ExtractiveAnswerer:
    mode = "extractive"

    def __init__(self, settings: Settings, parser: Parser | None = None,
                 model: Model | None = None, span_model: SpanScorer | None = None) -> None:
        self.settings = settings
        self._parser = parser or SpacyParser(settings.answer.spacy_model)
        self._model = model
        # the neural span scorer goes with the real parser: a reader built on a test's parser
        # gets one only when given one (its features are then "missing")
        self.span_model = span_model if span_model or parser else default_span_model()
        self._parses: dict[str, Parse] = {}
        self._lock = threading.Lock()

    @property
    def model(self) -> Model:
        return self._model or default_model()

    def clear_cache(self) -> None:
        with self._lock:
            self._parses.clear()

    def warm_up(self) -> None:
        self._parser(["Warm up."])
        _ = self.parsed_by  # reads the pipeline's version once
        if self.span_model:  # loads it (about a second) before the first question
            self.span_model("Warm up?", ["Warm up."])

    def condense(self, question: str, history: Sequence[Message]) -> str:
        return condense(question, history)

    def prepare(self, question: Question) -> None:
        """Parse the question into the cache (``cues``) while retrieval reads the index."""
        self.cues(question)

    def stream(self, question: Question, evidence: Sequence[Candidate]) -> Iterator[Event]:
        result = self.answer(question, evidence)
        yield from word_tokens(result.text)
        yield "answer", result

    # ------------------------------------------------------------ answering

    def answer(self, asked: Question, evidence: Sequence[Candidate]) -> Answer:
        question = asked.text
        if not evidence:
            return abstain(question, self.mode)
        read = self.sentences_to_read(asked, evidence)
        cues = self.cues(asked)
        best, scored = self.choose(asked, read)
        support = read[0].score if read else None
        if best is None or best.probability < ABSTAIN_BELOW.get(cues.answer_type, 0.5) \
                or off_focus(asked, cues, best.features, read[best.sentence].context) \
                or off_topic(cues, read[best.sentence]) or counts_else(cues, best.features) \
                or name_absent(asked, read[best.sentence].article) \
                or figure_of_another(asked, cues, read[best.sentence]):
            return abstain(question, self.mode, support=support,
                           confidence=best.probability if best else None)
        result = self._span_answer(question, read, scored, best)
        # where independent sources give different values, the answer says so (consensus)
        combined = consensus.combine(asked, self._claims(read, scored),
                                     self.settings.retrieval.window_lag_days)
        return consensus.apply(result, combined, asked, to_citation,
                               self.settings.answer.max_citations)

    def sentences_to_read(self, asked: Question, evidence: Sequence[Candidate]) -> list[Candidate]:
        """The best evidence sentences, those missing a name the question insists on last."""
        # a line of fewer than MIN_WORDS words is a label (a name above a photo, a byline): it
        # states nothing, so it can neither answer nor be cited
        usable = [c for c in evidence if len(c.sentence.text.split()) >= MIN_WORDS]
        return _require_named_terms(asked, usable)[:READ_SENTENCES]

    def choose(self, asked: Question, read: Sequence[Candidate]) -> tuple[ScoredSpan | None,
                                                                          list[ScoredSpan]]:
        """The best-ranked span (``None``: no candidate) and all the spans it was chosen from."""
        # a span that clashes with the expected type (a noun phrase for "how many", a name for
        # "why") never answers: on development data no such answer was right
        # nor does a person titled with another nation than the question's ("Dutch Defence
        # Minister Ruben Brekelmans" for the Swedish one)
        scored = [s for s in self.scored_spans(asked, read)
                  if not s.features.get("clash") and not s.features.get("title_clash")]
        cues = self.cues(asked)
        parses = self.parse([c.sentence.text for c in read])  # cached by scored_spans
        if cues.others:  # "Whom did the governor call?" is not answered by the governor
            scored = [s for s in scored if not names_other(parses[s.sentence], s.span, cues.others)]
        # "the Vell dam" for "the dam": the question's own noun phrase, not its answer
        scored = [s for s in scored if not names_their_noun(parses[s.sentence], s.span, cues)]
        if asked.speaker:  # "what did Umerov say Ukraine is ready for": not who said it
            scored = [s for s in scored if not in_speaker(parses[s.sentence], s.span)]
        if cues.answer_type == "statement" and not cues.asks_action:
            # what someone said is their quotation or reported words, never their name; what
            # they wrote, posted or called for may also be a thing said without attribution;
            # what they asked someone "to do" is the action asked for ("asked the guard to help")
            said = [s for s in scored if s.features.get("speaker_match")]
            scored = said if said or cues.verb in _SAY_STEMS else scored
        return max(scored, key=lambda s: s.score, default=None), scored

    def scored_spans(self, asked: Question, read: Sequence[Candidate]) -> list[ScoredSpan]:
        """Every candidate span of the sentences read, with its features and probability."""
        # the span model (torch, which releases the GIL) reads while spaCy parses (what the index
        # holds no parse of)
        logits = _read_spans(self.span_model, asked.interrogative or asked.text,
                             [c.sentence.text for c in read]) if self.span_model and read else None
        parses = self.parse([c.sentence.text for c in read] + [asked.interrogative or asked.text],
                            [c.parse for c in read])
        cues = self.cues(asked)
        sentences = [_sentence(c, rank, p, cues)
                     for rank, (c, p) in enumerate(zip(read, parses[:-1], strict=True))]
        q_lower = (asked.interrogative or asked.text).lower()
        context = set(words(asked.context.lower())) if cues.answer_type in _NAMED_TYPES else set()
        found: list[tuple[int, Span, str]] = []
        for n, s in enumerate(sentences):
            for span in candidates(s.parse):
                text = s.parse.span_text(span.start, span.end)
                # an answer never just repeats the question, nor holds a name the question gives
                # (a quotation may well name what the question asks about), nor a name of its
                # context
                if text.lower() not in q_lower and not named_in(s.parse, span, context) and (
                        (span.kinds & {"quote", "clause"} and cues.answer_type in _SAYINGS)
                        or not _names_any(text, cues.named)):
                    found.append((n, span, text))
        keys = [span_key(text) for _, _, text in found]
        where: dict[str, set[int]] = {}
        for (n, _, _), key in zip(found, keys, strict=True):
            where.setdefault(key, set()).add(n)
        # the other features are computed while the span model is still reading
        described = [features(cues, sentences[n], span, len(where[key]) - 1)
                     for (n, span, _), key in zip(found, keys, strict=True)]
        view = neural_view(logits()) if logits else None
        out = []
        for (n, span, text), f in zip(found, described, strict=True):
            f.update(neural_features(view, n, *sentences[n].parse.chars(span.start, span.end)))
            out.append(ScoredSpan(text, span, n, f, self.model.score(f), self.model.probability(f)))
        return out

    def cues(self, asked: Question) -> Cues:
        return read_cues(asked, self.parse([asked.interrogative or asked.text])[0])

    def parse(self, texts: list[str], stored: Sequence[StoredParse | None] = ()) -> list[Parse]:
        """Parses of ``texts``: from the cache, from the index (``stored``, beside the first
        texts: used when this reader's parser wrote them) or in one batch (spaCy's pipe is
        faster)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._parses))
        if missing:
            found = self._decoded(texts, stored, set(missing))
            rest = [t for t in missing if t not in found]
            found.update(zip(rest, self._parser(rest) if rest else [], strict=True))
            with self._lock:
                if len(self._parses) > PARSE_CACHE_SIZE:
                    self._parses.clear()
                self._parses.update(found)
        with self._lock:
            return [self._parses[t] for t in texts]

    @functools.cached_property
    def parsed_by(self) -> str | None:
        """This reader's parser as an index records it (None: it uses no stored parse)."""
        return self._parser.identity if isinstance(self._parser, IdentifiedParser) else None

    def _decoded(self, texts: list[str], stored: Sequence[StoredParse | None],
                 wanted: set[str]) -> dict[str, Parse]:
        """The usable stored parses among ``wanted``: written by this reader's parser and
        decodable (anything else is parsed now, as for an index without parses)."""
        out: dict[str, Parse] = {}
        for text, record in zip(texts, stored, strict=False):
            if record is not None and text in wanted and record.parser == self.parsed_by:
                parse = decode(record.record, text)
                if parse is not None:
                    out[text] = parse
        return out

    def _claims(self, read: list[Candidate], scored: list[ScoredSpan]) -> list[consensus.Claim]:
        """Every scored span as a claim with its exact article offsets, for ``consensus``."""
        out = []
        for s in scored:
            cand = read[s.sentence]
            a, b = self.parse([cand.sentence.text])[0].chars(s.span.start, s.span.end)
            start, end = cand.sentence.start + a, cand.sentence.start + b
            short = ShortAnswer(cand.article.text[start:end], cand.article.id, start, end)
            out.append(consensus.Claim(short, s.score, cand, confidence=s.probability))
        return out

    def _span_answer(self, question: str, read: list[Candidate], scored: list[ScoredSpan],
                     best: ScoredSpan) -> Answer:
        cand = read[best.sentence]
        parse = self.parse([cand.sentence.text])[0]
        a, b = parse.chars(best.span.start, best.span.end)
        start, end = cand.sentence.start + a, cand.sentence.start + b
        cited = [cand]
        if "quote" in best.span.kinds:
            start, end, before = widen_quote(cand, start, end)
            cited = [*before, cand]
        start, end = balance_quotes(cand.article.text, start, end, cited[0].sentence.start,
                                    cand.sentence.end)
        key = span_key(best.text)
        for s in sorted(scored, key=lambda s: -s.score):
            other = read[s.sentence]
            if (span_key(s.text) == key and other not in cited
                    and s.probability >= SUPPORT_SHARE * best.probability):
                cited.append(other)
        cited = cited[: self.settings.answer.max_citations]
        citations = tuple(to_citation(i + 1, c) for i, c in enumerate(cited))
        text = cand.article.text[start:end]
        short = ShortAnswer(text=text, article_id=cand.article.id, start=start, end=end)
        markers = "".join(f"[{c.n}]" for c in citations)
        return Answer(question=question, text=f"{text} {markers}", abstained=False,
                      citations=citations, mode=self.mode, short_answer=short,
                      extra={"support": round(cand.score, 4), "span": text,
                             "confidence": round(best.probability, 4)})


def _sentence(c: Candidate, rank: int, parse: Parse, cues: Cues) -> Sentence:
    where = " ".join((c.sentence.text, c.context, c.article.title))
    named = [t for t in cues.named if mentions(where, t)]
    return Sentence(parse, rank, c.score, c.lexical, c.dense, c.sentence.is_caption,
                    len(named) / len(cues.named) if cues.named else 1.0,
                    aliases(parse, c.context, cues))


def _names_any(text: str, named: tuple[str, ...]) -> bool:
    return any(mentions(text, n) for n in named if not n.isdigit() and len(n) > 2)


def span_key(text: str) -> str:
    """What makes two spans one answer: case, leading articles and edge punctuation aside."""
    return re.sub(r"^(the|a|an)\s+", "", text.lower()).strip(" .,'’\"“”")


def mentions(text: str, term: str, prefix: int = 4) -> bool:
    """Whether ``text`` names ``term``: whole-word for acronyms and numbers, else by prefix."""
    if term.isdigit() or (term.isupper() and len(term) <= prefix):
        return re.search(rf"\b{re.escape(term)}\b", text) is not None
    head = term.lower()[:prefix] if len(term) > prefix else term.lower()
    return any(w.startswith(head) for w in re.findall(r"\w+", text.lower()))


def _require_named_terms(question: Question, candidates: list[Candidate]) -> list[Candidate]:
    """Sentences that miss a name or number the question insists on rank lower.

    The sentence, the one before it and the article title count: news names the subject once
    and then says "he" or "the minister".
    """
    text = question.interrogative or question.text
    words = re.findall(r"\w+", text)
    terms = [w for i, w in enumerate(words) if (i > 0 and w[0].isupper()
                                                and w.lower() not in _QUESTION_WORDS) or w.isdigit()]
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


# threads for the span model, shared by every reader of the process (a server answers questions
# in parallel threads; each waits for its own calls only)
_SPAN_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="span-model")


def _read_spans(model: SpanScorer, question: str, texts: list[str]) -> Callable[[], list]:
    """Start the span model on ``texts`` in the background, in two batches (each on one torch
    thread, so both cores work): the shorter half and the longer half, so that each batch pads
    its pairs to a similar length (``benchmarks/span_model_speed.py``: 4 sentences in a median
    31 ms, 34 with alternate lengths, 38 as one batch); the returned function waits for the
    logits, in the order of ``texts``."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    middle = (len(order) + 1) // 2
    halves = [h for h in (order[:middle], order[middle:]) if h]
    jobs = [_SPAN_POOL.submit(model, question, [texts[i] for i in h]) for h in halves]

    def result() -> list:
        out: list = [None] * len(texts)
        for h, job in zip(halves, jobs, strict=True):
            for i, lg in zip(h, job.result(), strict=True):
                out[i] = lg
        return out
    return result


_SAYINGS = ("statement", "reason", "other")  # answers that may be whole quotations or clauses
# verbs that ask for words someone said, never for a thing they made or posted
_SAY_STEMS = frozenset(stem(w) for w in
                       "say tell add warn claim argue insist announce state reply respond".split())
_QUESTION_WORDS = set(content_terms("")) | {"who", "whom", "whose", "what", "which", "when", "where",
                                            "why", "how", "i"}


def to_citation(n: int, cand: Candidate) -> Citation:
    s, a = cand.sentence, cand.article
    return Citation(n=n, article_id=a.id, title=a.title, date=a.date, source=a.source,
                    sentence=s.text, start=s.start, end=s.end, is_caption=s.is_caption,
                    sentence_idx=s.idx)


def abstain(question: str, mode: str, support: float | None = None,
            confidence: float | None = None) -> Answer:
    extra = {} if support is None else {"support": round(support, 4)}
    if confidence is not None:
        extra["confidence"] = round(confidence, 4)
    return Answer(question=question, text=ABSTAIN_MESSAGE, abstained=True, mode=mode, extra=extra)
