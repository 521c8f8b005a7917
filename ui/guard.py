"""Around every HTTP request (a plain ASGI middleware, so streaming is untouched):

- a request id: the client's ``X-Request-ID`` when it is a short token, else a new one; in every
  log line of the request and returned in the ``X-Request-ID`` response header;
- security headers: ``Content-Security-Policy: frame-ancestors …`` (which sites may frame the
  page), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``;
- a body size limit per path (``413``), checked on ``Content-Length`` and while reading;
- an early refusal hook (e.g. ``403`` for Gradio's upload route on a page without uploads);
- no stack trace ever reaches a client: an unhandled error is ``500 {"error", "request_id"}``
  and its traceback goes to the log under the same request id;
- one access log line and the request counter (route template, method, status).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.observe import REQUEST_ID, Metrics

log = logging.getLogger("ui.access_log")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def security_headers(frame_ancestors: list[str]) -> list[tuple[str, str]]:
    ancestors = " ".join(["'self'", *frame_ancestors])
    return [("Content-Security-Policy", f"frame-ancestors {ancestors}"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin")]


class Guard:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, headers: list[tuple[str, str]],
                 body_limit: Callable[[str], int | None], client_of: Callable[[Scope], str],
                 refuse: Callable[[Scope], Response | None]) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = headers
        self.body_limit = body_limit
        self.client_of = client_of
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "sent": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["sent"] = message["status"], True
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                for name, value in self.headers:
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self._handle(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not state["sent"]:
                await JSONResponse({"error": "internal error; the server log has the details",
                                    "request_id": rid}, status_code=500)(scope, receive, send_with_headers)
        finally:
            self._record(scope, state["status"], started)
            REQUEST_ID.reset(token)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        early = self.refuse(scope)
        limit = self.body_limit(scope["path"])
        if early is None and limit is not None:
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > limit:
                early = _too_large(limit)
            else:
                receive = _limited(receive, limit)
        if early is not None:
            await early(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        route = _route_label(scope)
        self.metrics.requests.labels(route, scope["method"], str(status)).inc()
        log.info("request", extra={"method": scope["method"], "path": scope["path"], "route": route,
                                   "status": status, "ms": round((time.perf_counter() - started) * 1000, 1),
                                   "client": self.client_of(scope)})


def _request_id(scope: Scope) -> str:
    given = Headers(scope=scope).get("x-request-id", "")
    return given if _SAFE_ID.match(given) else uuid.uuid4().hex


def _route_label(scope: Scope) -> str:
    """The matched route's template (bounded label values), not the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    return (scope.get("root_path", "") + path) or "/"


def _too_large(limit: int) -> Response:
    return JSONResponse({"error": f"the request body is over the limit of {limit // 1024} KB"},
                        status_code=413)


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:  # an HTTPException passes through FastAPI's body parsing as it is
                raise HTTPException(413, f"the request body is over the limit of {limit // 1024} KB")
        return message

    return wrapped
