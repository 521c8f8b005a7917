"""A bounded queue in front of each chat model: who may ask it now, who waits, who is turned away.

A local model answers one request at a time (llama.cpp runs one sequence; two at once on two
cores only make both slower). Requests beyond that wait in line, up to ``llm.max_queue``; past
the bound ``admit`` raises ``Busy`` at once, and the reader answers extractively instead, so a
burst of questions never turns into errors or minute-long waits.

``queue_length()`` is the number of requests running or waiting, over all models of the process
(for monitoring).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from qa.config import LLMSettings


class Busy(Exception):
    """The model's queue is full."""


class RequestQueue:
    def __init__(self, max_queue: int, concurrency: int = 1) -> None:
        self.max_queue = max_queue
        self.concurrency = concurrency
        self._cond = threading.Condition()
        self._running = 0
        self._waiting = 0

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._waiting

    def __len__(self) -> int:
        with self._cond:
            return self._running + self._waiting

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a turn at the model for the ``with`` block; ``Busy`` when the line is full."""
        with self._cond:
            if self._running >= self.concurrency:
                if self._waiting >= self.max_queue:
                    raise Busy(f"{self._running} running and {self._waiting} waiting")
                self._waiting += 1
                try:
                    self._cond.wait_for(lambda: self._running < self.concurrency)
                finally:
                    self._waiting -= 1
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify()


_queues: dict[tuple[object, ...], RequestQueue] = {}
_lock = threading.Lock()


def queue_for(settings: LLMSettings) -> RequestQueue:
    """The one queue of the model these settings name (shared like the model itself)."""
    key = _model_key(settings)
    with _lock:
        queue = _queues.get(key)
        if queue is None:
            queue = _queues[key] = RequestQueue(settings.max_queue, settings.concurrency)
        return queue


def queue_length() -> int:
    """Requests running or waiting at any chat model of this process."""
    with _lock:
        queues = list(_queues.values())
    return sum(len(q) for q in queues)


def _model_key(s: LLMSettings) -> tuple[object, ...]:
    where = (str(s.gguf_path or s.cache_dir),) if s.provider == "local" else (s.base_url, s.model)
    return (s.provider, *where, s.max_queue, s.concurrency)
