"""One process, two front doors: the HTTP JSON API under /api and the Gradio page at /.

FastAPI routes are declared before Gradio is mounted at "/", so /api/* and /gradio.js are ours
and everything else (the page, /gradio_api/* for gradio_client, /assets/*) is Gradio's.

    GET  /api/health        index counts, model, answer modes
    POST /api/ask           {"question", "history"?, "k"?, "filters"?, "mode"?, "as_of"?}
                            -> `qa ask --json` object
    POST /api/ask/stream    the same, streamed: NDJSON {"type":"token","text"} ... {"type":"answer","answer"}
                            (Server-Sent Events instead when the request accepts text/event-stream)
    POST /api/feedback      {"answer": <answer object>, "vote": "up"|"down"} -> 204
    GET  /gradio.js         Gradio's web-component loader, served from the installed package
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home from a server

import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from qa import Assistant, IndexStateError, QAError, Settings
from ui import render
from ui.app import build_blocks
from ui.service import ChatService

GRADIO_JS = Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js"


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


def _error(exc: QAError) -> JSONResponse:
    status = 503 if isinstance(exc, IndexStateError) else 400
    return JSONResponse({"error": str(exc)}, status_code=status)


def _events(service: ChatService, req: AskRequest, sse: bool) -> Iterator[str]:
    def line(obj: dict) -> str:
        data = json.dumps(obj, ensure_ascii=False)
        return f"event: {obj['type']}\ndata: {data}\n\n" if sse else data + "\n"

    try:
        for kind, value in service.stream(req.question, **req.call_args()):
            if kind == "token":
                yield line({"type": "token", "text": value})
            elif kind == "answer":
                yield line({"type": "answer", "answer": value.to_dict()})
    except QAError as exc:
        yield line({"type": "error", "error": str(exc)})


def api_routes(app: FastAPI, service: ChatService) -> None:
    # Plain `def` endpoints: FastAPI runs them in its thread pool, so a question never blocks the loop.
    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return service.health()

    @app.post("/api/ask")
    def ask(req: AskRequest) -> Any:
        try:
            return service.ask(req.question, **req.call_args()).to_dict()
        except QAError as exc:
            return _error(exc)

    @app.post("/api/ask/stream")
    def ask_stream(req: AskRequest, request: Request) -> Any:
        try:
            service.check(req.question)  # refuse before the stream starts: a plain 400
        except QAError as exc:
            return _error(exc)
        sse = "text/event-stream" in request.headers.get("accept", "")
        media = "text/event-stream" if sse else "application/x-ndjson"
        return StreamingResponse(_events(service, req, sse), media_type=media,
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/api/feedback", status_code=204)
    def feedback(req: FeedbackRequest) -> Response:
        service.record_feedback(req.answer, req.vote)
        return Response(status_code=204)

    @app.get("/gradio.js", include_in_schema=False)
    def gradio_js() -> FileResponse:
        # A module script is fetched with CORS; it is public code, so any origin may load it.
        return FileResponse(GRADIO_JS, media_type="text/javascript",
                            headers={"Access-Control-Allow-Origin": "*"})


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """The FastAPI app with the API routes and the Gradio page mounted at /."""
    service = ChatService(settings, assistant)
    server = settings.server
    app = FastAPI(title="qa: news question answering", version="1", docs_url="/api/docs",
                  redoc_url=None, openapi_url="/api/openapi.json")
    if server.allowed_origins:  # Gradio then defers to this one policy for its routes too
        app.add_middleware(CORSMiddleware, allow_origins=server.allowed_origins, allow_credentials=True,
                           allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"])
    api_routes(app, service)
    blocks = build_blocks(service)
    blocks.queue(default_concurrency_limit=2)
    gr.mount_gradio_app(
        app, blocks, path="/", root_path=server.root_path or None, css=render.CSS, js=render.JS,
        max_file_size=int(server.max_upload_mb * 1024 * 1024), footer_links=["api"],
        show_error=False, ssr_mode=False, mcp_server=False,
    )
    app.state.service = service
    return app


class _Server(uvicorn.Server):
    """uvicorn's server, telling when its sockets are listening."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_ready:
            self.on_ready()


def serve(settings: Settings, assistant: Assistant | None = None,
          on_ready: Callable[[str, float], None] | None = None) -> None:
    """Load the models, then serve until interrupted; ``on_ready(url, seconds)`` once listening."""
    started = time.perf_counter()
    app = create_app(settings, assistant)
    app.state.service.warm_up()
    host, port = settings.server.host, settings.server.port
    url = f"http://{host}:{port}{settings.server.root_path}"

    def ready() -> None:
        if on_ready:
            on_ready(url, time.perf_counter() - started)

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
    _Server(config, ready).run()
