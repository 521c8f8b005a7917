"""What an operator sees: Prometheus metrics at /metrics and JSON-lines logs with a request id.

Metrics live in a registry of the app's own (two apps in one process, as in the tests, do not
collide). Values that are read rather than counted (index size, queue lengths) are computed when
/metrics is scraped, from callables: ``Metrics.watch_llm_queue(fn)`` is how the LLM queue reports
its length.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from qa import Answer

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_make_record = logging.getLogRecordFactory()


def _stamped_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every log record carries the id of the request it was made for (set by ``ui.guard``;
    answer workers run in a copy of the request's context), whichever handler formats it later."""
    record = _make_record(*args, **kwargs)
    record.request_id = REQUEST_ID.get()
    return record


logging.setLogRecordFactory(_stamped_record)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class _Live(Collector):
    """Gauges read at scrape time."""

    def __init__(self) -> None:
        self.gauges: dict[str, tuple[str, Callable[[], dict[str, float] | float]]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (doc, read) in self.gauges.items():
            try:
                value = read()
            except Exception:  # a metric must never break the scrape
                logging.getLogger(__name__).exception("reading gauge %s failed", name)
                continue
            if isinstance(value, dict):
                family = GaugeMetricFamily(name, doc, labels=["kind"])
                for label, v in value.items():
                    family.add_metric([label], v)
            else:
                family = GaugeMetricFamily(name, doc, value=value)
            yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("qa_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("qa_answer_seconds", "Answer latency by stage and answer mode",
                                 ["stage", "mode"], buckets=LATENCY_BUCKETS, registry=r)
        self.answers = Counter("qa_answers", "Answers given, by mode", ["mode"], registry=r)
        self.abstentions = Counter("qa_abstentions", "Answers that abstained, by mode", ["mode"], registry=r)
        self.removed = Counter("qa_citations_removed", "Citations removed by the checks, by mode",
                               ["mode"], registry=r)
        self.rejected = Counter("qa_rate_limited", "Requests refused by a rate limit, by budget",
                                ["budget"], registry=r)
        self.deadlines = Counter("qa_deadline_exceeded", "Answers stopped at their deadline, by mode",
                                 ["mode"], registry=r)
        self._live = _Live()
        r.register(self._live)

    def watch(self, name: str, doc: str, read: Callable[[], dict[str, float] | float]) -> None:
        self._live.gauges[name] = (doc, read)

    def watch_llm_queue(self, length: Callable[[], float]) -> None:
        """``length()``: LLM requests running or waiting at the chat model; read at every scrape."""
        self.watch("qa_llm_queue_length", "LLM requests running or waiting at the chat model", length)

    def observe_answer(self, answer: Answer, queued_s: float) -> None:
        mode = answer.mode
        self.answers.labels(mode).inc()
        if answer.abstained:
            self.abstentions.labels(mode).inc()
        removed = (answer.extra or {}).get("removed_citations") or []
        if removed:
            self.removed.labels(mode).inc(len(removed))
        self.latency.labels("queue", mode).observe(queued_s)
        for stage, ms in (answer.timings_ms or {}).items():
            self.latency.labels(stage, mode).observe(ms / 1000.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra``."""

    _STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in self._STANDARD})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(fmt: str, level: int = logging.INFO) -> None:
    """Server logs to stderr; JSON lines unless ``server.log_format`` is ``text``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "urllib3", "gradio", "httpcore", "sentence_transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
