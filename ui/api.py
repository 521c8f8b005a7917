"""The HTTP JSON API under /api, and /metrics.

    GET    /api/health          alive: {"status": "ok"} (touches nothing)
    GET    /api/ready           index and models loaded: counts, model, modes; else 503
    POST   /api/ask             {"question", "history"?, "k"?, "filters"?, "mode"?, "as_of"?}
                                -> `qa ask --json` object
    POST   /api/ask/stream      the same, streamed: NDJSON {"type":"token","text"} ... {"type":"answer",…}
                                (Server-Sent Events instead when the request accepts text/event-stream)
    POST   /api/feedback        {"answer": <answer object>, "vote": "up"|"down"} -> 204
    POST   /api/articles        admin: article JSON (one, a list, or {"articles": [...]}) or a multipart
                                file upload -> {"indexed", "skipped", "refused"}
    DELETE /api/articles/{id}   admin: -> {"removed": [id]}
    GET    /metrics             Prometheus text format (an admin key when admin keys are set)

Endpoints are ``async``: answers run in ``ui.jobs``' pool and the endpoint awaits them, so a
request never waits twice for a thread. A client that disconnects stops its answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from qa import IndexStateError, InputError, QAError
from ui.access import bearer
from ui.jobs import DeadlineExceeded, first
from ui.limits import RateLimited
from ui.observe import CONTENT_TYPE, REQUEST_ID
from ui.site import Site

log = logging.getLogger(__name__)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Message(_Strict):
    role: Literal["user", "assistant"]
    content: str


class Filters(_Strict):
    source: str | None = None
    date_from: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    date_to: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class AskRequest(_Strict):
    question: str
    history: list[Message] = Field(default_factory=list, max_length=100)
    k: int | None = Field(None, ge=1, le=100)
    filters: Filters | None = None
    mode: Literal["extractive", "llm"] | None = None
    as_of: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")

    @field_validator("as_of")
    @classmethod
    def _a_real_day(cls, value: str | None) -> str | None:
        if value is not None:
            dt.date.fromisoformat(value)  # "2025-02-30" is refused here, before any stream starts
        return value

    def call_args(self) -> dict[str, Any]:
        filters = self.filters.model_dump() if self.filters else None
        return {"history": [m.model_dump() for m in self.history], "k": self.k,
                "filters": filters if filters and any(filters.values()) else None, "mode": self.mode,
                "as_of": self.as_of}


class FeedbackRequest(_Strict):
    answer: dict[str, Any]
    vote: Literal["up", "down"]


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def qa_error(exc: QAError) -> JSONResponse:
    return error(503 if isinstance(exc, IndexStateError) else 400, str(exc))


def too_many(exc: RateLimited) -> JSONResponse:
    return error(429, str(exc), {"Retry-After": str(exc.retry_after)})


def unauthorized(why: str) -> JSONResponse:
    return error(401, why, {"WWW-Authenticate": "Bearer"})


def reader_refusal(site: Site, request: Request) -> JSONResponse | None:
    """None when the request may ask; else the 401 to send."""
    if site.access.may_read(bearer(request.headers)):
        return None
    return unauthorized("this assistant needs a key: send Authorization: Bearer KEY")


def admin_refusal(site: Site, request: Request) -> JSONResponse | None:
    key = bearer(request.headers)
    if site.access.may_write(key):
        return None
    if site.access.writes == "off":
        return error(403, "adding and removing articles is turned off on this server "
                          "(set access.admin_keys to allow it with a key)")
    if site.access.role(key) == "reader":
        return error(403, "a reader key cannot add or remove articles; use an admin key")
    return unauthorized("adding or removing articles needs an admin key: Authorization: Bearer KEY")


async def disconnected(request: Request) -> None:
    """Returns when the client has gone (the body is read by then, so nothing else is lost)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def until_disconnected(request: Request, items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """``items`` for as long as the client is connected; its departure closes ``items``."""
    gone = asyncio.ensure_future(disconnected(request))
    step: asyncio.Future | None = None
    try:
        while True:
            step = asyncio.ensure_future(anext(items))
            await asyncio.wait({step, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                return
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            step = None
            yield item
    finally:
        gone.cancel()
        if step is not None and not step.done():  # ``items`` is running: stop it before closing
            step.cancel()
            await asyncio.gather(step, return_exceptions=True)
        await items.aclose()  # type: ignore[attr-defined]


def reader_routes(app: FastAPI, site: Site) -> None:
    service = site.service

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/api/ready")
    def ready() -> Any:  # reads the index: a thread of FastAPI's pool, once
        if not service.ready:
            return error(503, "loading the models")
        try:
            return service.health()
        except QAError as exc:
            return error(503, str(exc))

    @app.post("/api/ask")
    async def ask(req: AskRequest, request: Request) -> Any:
        refused = reader_refusal(site, request)
        if refused:
            return refused
        try:
            service.check(req.question)
            site.admit(_client(site, request), req.mode)
            events = site.answer_events(req.question, **req.call_args(), tokens=False)
            event = await first(until_disconnected(request, events), lambda e: e[0] == "answer")
        except RateLimited as exc:
            return too_many(exc)
        except DeadlineExceeded as exc:
            return error(504, str(exc))
        except QAError as exc:
            return qa_error(exc)
        if event is None:  # the client left
            return Response(status_code=499)
        return event[1].to_dict()

    @app.post("/api/ask/stream")
    async def ask_stream(req: AskRequest, request: Request) -> Any:
        refused = reader_refusal(site, request)
        if refused:
            return refused
        try:  # refused before the stream starts: a plain status
            service.check(req.question)
            site.admit(_client(site, request), req.mode)
        except RateLimited as exc:
            return too_many(exc)
        except QAError as exc:
            return qa_error(exc)
        sse = "text/event-stream" in request.headers.get("accept", "")
        events = site.answer_events(req.question, **req.call_args())
        body = _lines(until_disconnected(request, events), sse)
        return StreamingResponse(body, media_type="text/event-stream" if sse else "application/x-ndjson",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/api/feedback", status_code=204)
    def feedback(req: FeedbackRequest, request: Request) -> Response:
        refused = reader_refusal(site, request)
        if refused:
            return refused
        try:
            site.spend("feedback", _client(site, request))
            service.record_feedback(req.answer, req.vote)
        except RateLimited as exc:
            return too_many(exc)
        except InputError as exc:
            return error(413, str(exc))
        return Response(status_code=204)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if site.access.admin and site.access.role(bearer(request.headers)) != "admin":
            return unauthorized("/metrics needs an admin key: Authorization: Bearer KEY")
        return Response(site.metrics.render(), media_type=CONTENT_TYPE)


def _client(site: Site, request: Request) -> str:
    return site.client(request.client.host if request.client else None, request.headers)


async def _lines(events: AsyncIterator[tuple[str, Any]], sse: bool) -> AsyncIterator[str]:
    def line(obj: dict) -> str:
        data = json.dumps(obj, ensure_ascii=False)
        return f"event: {obj['type']}\ndata: {data}\n\n" if sse else data + "\n"

    try:
        async for kind, value in events:
            if kind == "token":
                yield line({"type": "token", "text": value})
            elif kind == "answer":
                yield line({"type": "answer", "answer": value.to_dict()})
    except (QAError, DeadlineExceeded) as exc:
        yield line({"type": "error", "error": str(exc)})
    except Exception:  # a bug: the traceback goes to the log, the client gets a short line
        log.exception("answering failed after the stream began")
        yield line({"type": "error", "error": "internal error; the server log has the details",
                    "request_id": REQUEST_ID.get()})
    finally:
        await events.aclose()  # type: ignore[attr-defined]
