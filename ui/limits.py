"""Per-client budgets: answers (extractive and LLM apart), feedback rows and key logins.

A client is the holder of a valid key when it presents one (so a reader key is a budget of its
own), else its network address; behind ``server.proxy_hops`` reverse proxies, the address is
read from ``X-Forwarded-For`` (the n-th entry from the right: the one our own proxy wrote, which a
client cannot forge). Only a configured key names a client: a made-up key would otherwise be a
fresh budget per request.

The counting is the ``limits`` library's (maintained, used by slowapi and Flask-Limiter, with
memory and Redis storage): a moving window per budget item. A budget such as
``"60/minute;10/10 seconds"`` lists several windows, and a request needs room in each, which
acts as a token bucket: a burst of up to 10, and 60 a minute on average. A refused request takes
nothing from any window, so a client that keeps retrying is not locked out for longer.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from typing import Literal

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from qa.config import LimitSettings
from ui.access import Access, bearer, key_id

Budget = Literal["extractive", "llm", "feedback", "login"]
BUDGETS: tuple[Budget, ...] = ("extractive", "llm", "feedback", "login")

MESSAGES = {
    "extractive": "Too many questions from you in a short time",
    "llm": "Too many LLM answers for you in a short time",
    "feedback": "Too much feedback from you in a short time",
    "login": "Too many login attempts",
}


class RateLimited(Exception):
    def __init__(self, budget: Budget, retry_after: int) -> None:
        self.budget = budget
        self.retry_after = retry_after
        super().__init__(f"{MESSAGES[budget]}: please try again in {retry_after} s.")


def client_address(peer: str | None, forwarded_for: str | None, proxy_hops: int) -> str:
    if proxy_hops and forwarded_for:
        entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
        if entries:
            return entries[-min(proxy_hops, len(entries))]
    return peer or "unknown"


def client_id(access: Access, peer: str | None, headers: Mapping[str, str], proxy_hops: int) -> str:
    """Who a request counts against: a valid key, else the client's address."""
    key = bearer(headers)
    if key and access.role(key) is not None:
        return key_id(key)
    return "ip-" + client_address(peer, headers.get("x-forwarded-for"), proxy_hops)


class Budgets:
    def __init__(self, settings: LimitSettings) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.storage_uri))
        self._items: dict[str, list[RateLimitItem]] = {
            name: parse_many(getattr(settings, name)) for name in BUDGETS}
        self._lock = threading.Lock()  # test-then-hit of several windows, as one step

    def spend(self, budget: Budget, client: str) -> None:
        """Take one unit of ``budget`` for ``client``, or raise RateLimited."""
        items = self._items[budget]
        with self._lock:
            full = [i for i in items if not self._limiter.test(i, budget, client)]
            if not full:
                for item in items:
                    self._limiter.hit(item, budget, client)
                return
        now = time.time()
        wait = max(self._limiter.get_window_stats(i, budget, client).reset_time - now for i in full)
        raise RateLimited(budget, max(1, math.ceil(wait)))
