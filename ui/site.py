"""The parts every front door shares (HTTP API and Gradio pages): who the client is, what it may
do, its budget, and one answer path that applies the rate limit, the deadline and the metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from qa import Settings, llm_queue_length
from ui.access import Access
from ui.jobs import AnswerPool, DeadlineExceeded
from ui.limits import Budget, Budgets, RateLimited, client_id
from ui.observe import Metrics
from ui.service import ChatService

LLM_SPARE_WORKERS = 2  # turned away by a full model queue at once, they leave their worker fast


@dataclass(frozen=True)
class Site:
    settings: Settings
    service: ChatService
    access: Access
    budgets: Budgets
    pool: AnswerPool
    metrics: Metrics

    @classmethod
    def create(cls, settings: Settings, service: ChatService) -> Site:
        server = settings.server
        # LLM questions go on to the model's own bounded queue (llm.max_queue), which decides who
        # waits and who gets the extractive answer at once: enough workers that it always can.
        llm = settings.llm
        pool = AnswerPool({"extractive": server.answer_workers,
                           "llm": llm.concurrency + llm.max_queue + LLM_SPARE_WORKERS})
        site = cls(settings, service, Access.from_settings(settings), Budgets(settings.limits),
                   pool, Metrics())
        site.metrics.watch_llm_queue(llm_queue_length)
        site.metrics.watch("qa_answer_queue_length", "Questions waiting for a worker, by kind",
                           lambda: {k: pool.waiting(k) for k in ("extractive", "llm")})
        site.metrics.watch("qa_index_articles", "Articles in the index",
                           lambda: service.assistant.index.info()["articles"])
        site.metrics.watch("qa_index_chunks", "Chunks in the index",
                           lambda: service.assistant.index.info()["chunks"])
        return site

    def client(self, peer: str | None, headers: Mapping[str, str]) -> str:
        return client_id(self.access, peer, headers, self.settings.server.proxy_hops)

    def mode(self, requested: str | None) -> str:
        return "llm" if (requested or self.settings.answer.mode) == "llm" else "extractive"

    def spend(self, budget: Budget, client: str) -> None:
        try:
            self.budgets.spend(budget, client)
        except RateLimited:
            self.metrics.rejected.labels(budget).inc()
            raise

    def admit(self, client: str, mode: str | None) -> None:
        """Take one answer of this mode from the client's budget, or raise RateLimited."""
        self.spend(self.mode(mode), client)  # type: ignore[arg-type]

    async def answer_events(self, question: str, history: Any = None, *, k: int | None = None,
                            filters: dict | None = None, mode: str | None = None,
                            as_of: str | None = None,
                            tokens: bool = True) -> AsyncIterator[tuple[str, Any]]:
        """("token", text) … ("answer", Answer), answered by the pool within the mode's
        deadline (DeadlineExceeded when late); only the answer without ``tokens``. Callers
        ``admit`` the question first."""
        kind = self.mode(mode)
        limits = self.settings.limits
        timeout = limits.llm_timeout_s if kind == "llm" else limits.answer_timeout_s
        started = time.perf_counter()
        events = self.pool.stream(
            kind, lambda: self.service.stream(question, history, k=k, filters=filters, mode=mode,
                                              as_of=as_of),
            timeout, keep=_is_shown if tokens else _is_answer)
        try:
            async for event in events:
                if event[0] == "answer":
                    total = time.perf_counter() - started
                    queued = max(0.0, total - event[1].timings_ms.get("total", 0.0) / 1000.0)
                    self.metrics.observe_answer(event[1], queued)
                yield event
        except DeadlineExceeded:
            self.metrics.deadlines.labels(kind).inc()
            raise
        finally:
            await events.aclose()  # type: ignore[attr-defined]



def _is_answer(event: tuple[str, Any]) -> bool:
    """Without tokens, a caller that wants the whole answer is not woken once per word."""
    return event[0] == "answer"


def _is_shown(event: tuple[str, Any]) -> bool:
    """("working", None) only keeps a worker checking whether its client is still there."""
    return event[0] != "working"
