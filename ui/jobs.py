"""Answering off the event loop: in arrival order, within a deadline, stopped when nobody listens.

Each kind of answer (``extractive``, ``llm``) has a small pool of worker threads
(``server.answer_workers``; for the LLM, enough for its model's own bounded queue); questions
wait their turn in arrival order and the event loop awaits them. Why not FastAPI's shared thread
pool: a plain ``def`` endpoint takes a thread of it to answer, then takes one again to validate
what it returned, and that second turn queues behind the first turn of every request that
arrived meanwhile, so under a burst everybody finished at about the same moment. A streamed
answer was worse: every token took a turn. Here a question takes a worker once, and its events
come back through an asyncio queue.

The worker runs the answer's event generator and checks after each event whether the consumer
is still there; when it is not (the client disconnected, or the deadline passed) it closes the
generator, which stops an LLM's generation at its next token. A question still waiting when its
client leaves or its deadline passes is never started.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_DONE = object()


class DeadlineExceeded(Exception):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"the answer took longer than {seconds:g} s and was stopped; please try again")


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class AnswerPool:
    def __init__(self, workers: dict[str, int]) -> None:
        self._pools = {kind: ThreadPoolExecutor(n, thread_name_prefix=f"answer-{kind}")
                       for kind, n in workers.items()}
        self._waiting = dict.fromkeys(workers, 0)
        self._running = dict.fromkeys(workers, 0)
        self._lock = threading.Lock()

    def waiting(self, kind: str) -> int:
        """Questions of this kind queued and not started yet."""
        return self._waiting[kind]

    def running(self, kind: str) -> int:
        return self._running[kind]

    def _count(self, kind: str, waiting: int, running: int) -> None:
        with self._lock:
            self._waiting[kind] += waiting
            self._running[kind] += running

    async def stream(self, kind: str, events: Callable[[], Iterator[Any]], timeout: float,
                     keep: Callable[[Any], bool] | None = None) -> AsyncIterator[Any]:
        """The items of ``events()`` (those ``keep`` accepts), produced in a worker of ``kind``,
        as they come.

        Raises DeadlineExceeded ``timeout`` seconds after the call, waiting included; leaving
        the ``async for`` early (or being cancelled) stops the worker at its next item, kept or not.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()
        deadline = loop.time() + timeout

        def put(item: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: the server is stopping
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            self._count(kind, -1, +1)
            try:
                if not stop.is_set():
                    _pump(events, put, stop, keep)
            finally:
                self._count(kind, 0, -1)
                put(_DONE)

        self._count(kind, +1, 0)
        future = self._pools[kind].submit(contextvars.copy_context().run, work)
        try:
            while True:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                # arrives as an item does, and a client's departure would go unnoticed.
                try:
                    async with asyncio.timeout_at(deadline):
                        item = await queue.get()
                except TimeoutError:
                    raise DeadlineExceeded(timeout) from None
                if item is _DONE:
                    return
                if isinstance(item, _Failed):
                    raise item.exc
                yield item
        finally:
            stop.set()
            if future.cancel():  # never started: it is no longer waiting
                self._count(kind, -1, 0)

    def shutdown(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


def _pump(events: Callable[[], Iterator[Any]], put: Callable[[Any], None], stop: threading.Event,
          keep: Callable[[Any], bool] | None) -> None:
    """Run the generator in this thread, handing items over until it ends or ``stop`` is set."""
    iterator = None
    try:
        iterator = events()
        for item in iterator:
            if keep is None or keep(item):
                put(item)
            if stop.is_set():  # checked after every item, kept or not: an LLM token is one
                break
    except Exception as exc:  # handed to the awaiting request, which reports it
        put(_Failed(exc))
    finally:
        close = getattr(iterator, "close", None)
        if close:
            close()  # GeneratorExit inside the answer: an LLM stops generating


async def first(items: AsyncIterator[Any], predicate: Callable[[Any], bool]) -> Any:
    """The first item that satisfies ``predicate``; the rest of the stream is not produced."""
    try:
        async for item in items:
            if predicate(item):
                return item
    finally:
        await items.aclose()  # type: ignore[attr-defined]
    return None
