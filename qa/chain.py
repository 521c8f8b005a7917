"""The assistant: a LangChain (LCEL) chain from a question (and conversation) to an Answer.

    condense (follow-ups) -> analyse (qa.question) -> retrieve (HybridRetriever) -> evidence
    -> answerer (an ``Answerer``: extractive or llm)

The question's analysis (spaCy) and its vector are computed in worker threads while retrieval
reads the index, which needs only the question's text, dates and vector; the evidence waits for
the analysis.

A small typed record, ``Turn``, carries the state between the steps. ``ask`` and ``stream`` run
the same steps; ``ask`` simply keeps the final answer of the stream.

``Assistant`` owns the long-lived parts (index, embedder, answerers), loads models lazily and
once, and is safe to share between threads: the web server uses one for all requests.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from langchain_core.runnables import Runnable, RunnableLambda

from qa.answer.evidence import Candidate, load_candidates
from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.protocol import Answerer, Event, final_answer
from qa.answer.reprints import with_reprints
from qa.config import Settings, load_settings
from qa.embeddings import Embedder, make_embedder
from qa.errors import ConfigError, DependencyError, InputError
from qa.question import analyze
from qa.question.analysis import clear_cache as clear_analysis_cache
from qa.question.followup import Message
from qa.retrieve import DatePreference, HybridRetriever, encode_in_background, parse_date, search
from qa.store.protocol import open_store
from qa.types import Answer, Hit, Question

QUERY_CACHE_SIZE = 1024
_ANALYSIS_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-analyse")


def check_question(question: str, settings: Settings) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; ask something, e.g. \"Who chaired the meeting?\"")
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise InputError("the question has no printable characters")
    limit = settings.answer.max_question_chars
    if len(cleaned) > limit:
        raise InputError(
            f"the question is {len(cleaned)} characters long; the limit is {limit} "
            "(answer.max_question_chars)"
        )
    return cleaned


def parse_as_of(value: str | dt.date | None) -> dt.date | None:
    """An as-of date from ``YYYY-MM-DD`` (or a date); ``None`` means today."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"as_of {value!r} is not a date; use YYYY-MM-DD, e.g. 2025-04-11") from None


@dataclass(frozen=True)
class Turn:
    """One question on its way through the chain; each step returns a copy with more filled in."""

    asked: str
    history: tuple[Message, ...] = ()
    k: int | None = None
    filters: dict | None = None
    mode: str | None = None
    as_of: dt.date | None = None
    started: float = field(default_factory=time.perf_counter)
    standalone: str = ""  # the question to answer: ``asked``, or its follow-up made standalone
    analysis: Future[Question] | None = None  # the question's reading (spaCy), being computed
    question: Question | None = None  # the reading, once retrieval has waited for it
    query_vector: Future[np.ndarray] | None = None  # the question's vector, being computed
    hits: tuple[Hit, ...] = ()
    evidence: tuple[Candidate, ...] = ()
    retrieve_ms: float = 0.0


class Assistant:
    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 answerers: dict[str, Answerer] | None = None) -> None:
        self.settings = settings or load_settings()
        self.embedder = embedder or make_embedder(self.settings.embedding)
        self.index = open_store(self.settings, model=self.embedder.name)
        self._answerers: dict[str, Answerer] = {"extractive": ExtractiveAnswerer(self.settings)}
        self._answerers.update(answerers or {})
        self._embed_cached = functools.lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed_one)
        r = self.settings.retrieval
        self.retriever = HybridRetriever(index=self.index, embed_query=self.embed_query, k=r.k,
                                         candidates=r.candidates, rrf_k=r.rrf_k, settings=r)

    def warm_up(self, mode: str | None = None) -> Assistant:
        """Load the models now rather than inside the first question's timings."""
        self.embed_query("warm up")
        self.answerer(mode).warm_up()
        return self

    # ------------------------------------------------------------ parts

    def _embed_one(self, text: str) -> np.ndarray:
        vector = self.embedder.encode([text])[0]
        vector.setflags(write=False)
        return vector

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_cached(text)

    def answerer(self, mode: str | None) -> Answerer:
        mode = mode or self.settings.answer.mode
        if mode not in self._answerers:
            self._answerers[mode] = self._make_answerer(mode)
        return self._answerers[mode]

    def _make_answerer(self, mode: str) -> Answerer:
        if mode == "llm":
            try:
                llm = importlib.import_module("qa.answer.llm")
            except ImportError as exc:
                raise DependencyError(
                    f"llm mode needs the optional extra: pip install -e '.[llm]' ({exc})"
                ) from None
            answerer: Answerer = llm.LLMAnswerer(self.settings, embed=self.embed_query)
            return answerer
        raise ConfigError(f"unknown answer mode {mode!r}; use extractive or llm")

    # ------------------------------------------------------------ the steps

    def _condense(self, turn: Turn) -> Turn:
        asked = check_question(turn.asked, self.settings)
        answerer = self.answerer(turn.mode)
        standalone = answerer.condense(asked, turn.history) if turn.history else asked
        # Retrieval needs only the question's text, dates and vector: the encoder and spaCy's
        # reading of the question run in worker threads while it reads the index (torch, spaCy
        # and the database driver release the GIL); the evidence waits for the reading.
        as_of = turn.as_of or dt.date.today()
        vector = encode_in_background(self.embed_query, standalone)
        analysis = _ANALYSIS_POOL.submit(self._read_question, standalone, as_of, answerer)
        return replace(turn, asked=asked, standalone=standalone, as_of=as_of, analysis=analysis,
                       query_vector=vector)

    def _read_question(self, text: str, as_of: dt.date, answerer: Answerer) -> Question:
        question = analyze(text, as_of, model=self.settings.answer.spacy_model)
        answerer.prepare(question)
        return question

    def _retrieve(self, turn: Turn) -> Turn:
        t0 = time.perf_counter()
        text, analysis = turn.standalone, turn.analysis
        assert analysis is not None and turn.as_of is not None  # set by _condense
        vector = turn.query_vector or encode_in_background(self.embed_query, text)
        # One snapshot for retrieval and evidence: an update committed in between must not pair
        # chunks of the old version of an article with sentences of the new one.
        with self.index.snapshot():
            found = search(self.index, text, vector.result, self.settings.retrieval, k=turn.k,
                           filters=turn.filters, dates=DatePreference.of_text(text, turn.as_of))
            question = analysis.result()  # spaCy's reading, for the evidence's scores
            evidence = load_candidates(self.index, found.hits, question, vector.result(),
                                       found.sentences)
        return replace(turn, question=question, hits=found.hits, evidence=tuple(evidence),
                       retrieve_ms=_ms(t0))

    def _answer_events(self, turn: Turn) -> Iterator[Event]:
        assert turn.question is not None
        t0 = time.perf_counter()
        for kind, value in self.answerer(turn.mode).stream(turn.question, turn.evidence):
            yield kind, (self._finish(turn, value, _ms(t0)) if kind == "answer" else value)

    def _finish(self, turn: Turn, result: Answer, answer_ms: float) -> Answer:
        assert turn.question is not None
        citations = with_reprints(self.index, result.citations)  # "also in N other articles"
        timings = {"retrieve": turn.retrieve_ms, "answer": answer_ms, "total": _ms(turn.started)}
        extra = {**result.extra, **as_of_extra(turn.question, result,
                                               self.settings.answer.stale_after_days)}
        return replace(result, question=turn.asked, timings_ms=timings, retrieved=turn.hits,
                       standalone_question=turn.question.text, extra=extra, citations=citations)

    # ------------------------------------------------------------ the chain

    def chain(self) -> Runnable:
        """question dict -> Answer, as an LCEL runnable (usable with LangChain tooling)."""
        return (
            RunnableLambda(_turn_of, name="inputs")
            | RunnableLambda(self._condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableLambda(lambda turn: final_answer(self._answer_events(turn)), name="answer")
        )

    # ------------------------------------------------------------ public calls

    def ask(self, question: str, history: Sequence[Message] | None = None, *, k: int | None = None,
            filters: dict | None = None, mode: str | None = None,
            as_of: str | dt.date | None = None) -> Answer:
        return final_answer(self.stream(question, history, k=k, filters=filters, mode=mode,
                                        as_of=as_of))

    def stream(self, question: str, history: Sequence[Message] | None = None, *,
               k: int | None = None, filters: dict | None = None, mode: str | None = None,
               as_of: str | dt.date | None = None) -> Iterator[Event]:
        """Events: ("token", text) as the answer is produced, then ("answer", Answer).

        An answerer with real streaming (the LLM) yields tokens as they are written; the
        extractive answer is complete at once and is sent word by word, so every client
        handles one protocol.
        """
        turn = self.prepare(question, history, k=k, filters=filters, mode=mode, as_of=as_of)
        yield from self._answer_events(turn)

    def prepare(self, question: str, history: Sequence[Message] | None = None, *,
                k: int | None = None, filters: dict | None = None, mode: str | None = None,
                as_of: str | dt.date | None = None) -> Turn:
        """The steps before the answerer: the analysed question, its hits and its evidence."""
        turn = _turn_of({"question": question, "history": history, "k": k, "filters": filters,
                         "mode": mode, "as_of": as_of})
        return self._retrieve(self._condense(turn))

    def clear_caches(self, *, answerers: bool = True) -> None:
        """Forget cached query vectors and question analyses (benchmarks measure uncached
        questions) and, unless ``answerers`` is false, the answerers' per-sentence caches (a
        server that has answered other questions about the same articles keeps those)."""
        self._embed_cached.cache_clear()
        clear_analysis_cache()
        for answerer in self._answerers.values() if answerers else ():
            answerer.clear_cache()

    def close(self) -> None:
        self.index.close()


def as_of_extra(question: Question, answer: Answer, stale_after_days: int) -> dict[str, Any]:
    """The as-of date of an answer (``extra["as_of"]``, the JSON's ``"as_of"``) and, when the
    newest cited article is more than ``stale_after_days`` older, the note that says the answer
    holds as of that article's date (``extra["as_of_note"]``)."""
    as_of = question.as_of or dt.date.today()
    cited = [d for d in (parse_date(c.date) for c in answer.citations) if d is not None]
    newest = max(cited) if cited else None
    window = question.window
    note = None
    if newest is not None and not answer.abstained and (as_of - newest).days > stale_after_days:
        note = f"As of {newest.isoformat()} (the newest cited article; asked on {as_of.isoformat()})."
    out: dict[str, Any] = {"as_of": {
        "date": as_of.isoformat(),
        "window": None if window is None else {"start": window.start.isoformat(),
                                               "end": window.end.isoformat(),
                                               "phrase": window.phrase},
        "newest_evidence": newest.isoformat() if newest else None,
        "note": note,
    }}
    if note:
        out["as_of_note"] = note
    return out


def _turn_of(inputs: dict[str, Any]) -> Turn:
    return Turn(asked=inputs["question"], history=tuple(inputs.get("history") or ()),
                k=inputs.get("k"), filters=inputs.get("filters"), mode=inputs.get("mode"),
                as_of=parse_as_of(inputs.get("as_of")))


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
