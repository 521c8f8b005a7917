"""The assistant: a LangChain (LCEL) chain from a question (and conversation) to an Answer.

    condense (follow-ups)  ->  retrieve (HybridRetriever)  ->  evidence  ->  answerer

``Assistant`` owns the long-lived parts (index, embedder, answerers), loads models lazily and
once, and is safe to share between threads: the web server uses one for all requests.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from langchain_core.runnables import Runnable, RunnableLambda

from qa.answer.evidence import load_candidates
from qa.answer.extractive import ExtractiveAnswerer
from qa.config import Settings, load_settings
from qa.embeddings import Embedder, make_embedder
from qa.errors import ConfigError, DependencyError, InputError
from qa.followup import Message, condense
from qa.index import Index
from qa.retrieve import HybridRetriever, document_to_hit
from qa.types import Answer

QUERY_CACHE_SIZE = 1024


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


class Assistant:
    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 answerers: dict[str, Any] | None = None) -> None:
        self.settings = settings or load_settings()
        self.index = Index.open(self.settings)
        self.embedder = embedder or make_embedder(self.settings.embedding)
        if self.embedder.name != self.index.meta()["model"]:
            self.settings.embedding.model = self.embedder.name
            self.index._check_readable()  # raises the clear mismatch error
        self._answerers: dict[str, Any] = {"extractive": ExtractiveAnswerer(self.settings)}
        self._answerers.update(answerers or {})
        self._embed_cached = functools.lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed_one)
        r = self.settings.retrieval
        self.retriever = HybridRetriever(index=self.index, embed_query=self.embed_query, k=r.k,
                                         candidates=r.candidates, rrf_k=r.rrf_k)

    def warm_up(self, mode: str | None = None) -> Assistant:
        """Load the models now rather than inside the first question's timings."""
        self.embed_query("warm up")
        warm = getattr(self.answerer(mode), "warm_up", None)
        if warm:
            warm()
        return self

    # ------------------------------------------------------------ parts

    def _embed_one(self, text: str) -> np.ndarray:
        vector = self.embedder.encode([text])[0]
        vector.setflags(write=False)
        return vector

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed_cached(text)

    def answerer(self, mode: str | None) -> Any:
        mode = mode or self.settings.answer.mode
        if mode not in self._answerers:
            self._answerers[mode] = self._make_answerer(mode)
        return self._answerers[mode]

    def _make_answerer(self, mode: str) -> Any:
        if mode == "llm":
            try:
                llm = importlib.import_module("qa.answer.llm")
            except ImportError as exc:
                raise DependencyError(
                    f"llm mode needs the optional extra: pip install -e '.[llm]' ({exc})"
                ) from None
            return llm.LLMAnswerer(self.settings, embed=self.embed_query)
        raise ConfigError(f"unknown answer mode {mode!r}; use extractive or llm")

    # ------------------------------------------------------------ the chain

    def chain(self) -> Runnable:
        """question dict -> Answer, as an LCEL runnable (usable with LangChain tooling)."""
        return (
            RunnableLambda(self._condense_step, name="condense")
            | RunnableLambda(self._retrieve_step, name="retrieve")
            | RunnableLambda(self._answer_step, name="answer")
        )

    def _condense_step(self, inputs: dict) -> dict:
        started = time.perf_counter()
        question = check_question(inputs["question"], self.settings)
        answerer = self.answerer(inputs.get("mode"))
        history = inputs.get("history") or []
        condenser = getattr(answerer, "condense", None)
        standalone = condenser(question, history) if condenser else condense(question, history)
        return {**inputs, "question": question, "standalone": standalone, "started": started}

    def _retrieve_step(self, state: dict) -> dict:
        t0 = time.perf_counter()
        # One snapshot for retrieval and evidence: an update committed in between must not pair
        # chunks of the old version of an article with sentences of the new one.
        with self.index.snapshot():
            docs = self.retriever.invoke(state["standalone"], k=state.get("k") or self.settings.retrieval.k,
                                         filters=state.get("filters"))
            hits = [document_to_hit(d) for d in docs]
            qvec = self.embed_query(state["standalone"])
            candidates = load_candidates(self.index, hits, state["standalone"], qvec)
        return {**state, "hits": hits, "candidates": candidates, "retrieve_ms": _ms(t0)}

    def _answer_step(self, state: dict) -> Answer:
        t0 = time.perf_counter()
        answerer = self.answerer(state.get("mode"))
        result: Answer = answerer.answer(state["standalone"], state["candidates"])
        return self._finish(state, result, _ms(t0))

    def _finish(self, state: dict, result: Answer, answer_ms: float) -> Answer:
        timings = {"retrieve": state["retrieve_ms"], "answer": answer_ms,
                   "total": _ms(state["started"])}
        return Answer(question=state["question"], text=result.text, abstained=result.abstained,
                      citations=result.citations, mode=result.mode, timings_ms=timings,
                      retrieved=tuple(state["hits"]), standalone_question=state["standalone"],
                      extra=result.extra)

    # ------------------------------------------------------------ public calls

    def ask(self, question: str, history: Sequence[Message] | None = None, *, k: int | None = None,
            filters: dict | None = None, mode: str | None = None) -> Answer:
        return self.chain().invoke({"question": question, "history": list(history or []),
                                    "k": k, "filters": filters, "mode": mode})

    def stream(self, question: str, history: Sequence[Message] | None = None, *,
               k: int | None = None, filters: dict | None = None,
               mode: str | None = None) -> Iterator[tuple[str, Any]]:
        """Events: ("token", text) as the answer is produced, then ("answer", Answer).

        An answerer with its own ``stream`` (the LLM) yields real tokens; the extractive answer
        is complete at once and is sent word by word so every client handles one protocol.
        """
        inputs = {"question": question, "history": list(history or []), "k": k,
                  "filters": filters, "mode": mode}
        state = self._retrieve_step(self._condense_step(inputs))
        answerer = self.answerer(mode)
        t0 = time.perf_counter()
        if hasattr(answerer, "stream"):
            result = None
            for kind, value in answerer.stream(state["standalone"], state["candidates"]):
                if kind == "answer":
                    result = value
                else:
                    yield kind, value
            assert result is not None
        else:
            result = answerer.answer(state["standalone"], state["candidates"])
            for i, word in enumerate(result.text.split(" ")):
                yield "token", ("" if i == 0 else " ") + word
        yield "answer", self._finish(state, result, _ms(t0))

    def clear_caches(self) -> None:
        """Forget cached query vectors and entities (benchmarks measure uncached questions)."""
        self._embed_cached.cache_clear()
        for answerer in self._answerers.values():
            clear = getattr(answerer, "clear_cache", None)
            if clear:
                clear()

    def close(self) -> None:
        self.index.close()


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
