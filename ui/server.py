"""One process, several front doors: the HTTP JSON API under /api (``ui.api``, ``ui.admin``),
/metrics, the reader's Gradio page at /, and, when admin keys are set, the admin's page at /admin.

FastAPI routes are declared before Gradio is mounted, so /api/*, /metrics and /gradio.js are ours,
/admin/* is the admin page's, and everything else (the page, /gradio_api/* for gradio_client,
/assets/*) is the reader page's. ``ui.guard`` wraps every request (request id, headers, body
limits, no tracebacks, access log, metrics).

Who may write (``ui.access``): on a loopback address without keys, anyone (the page at / has
"Add articles"); with admin keys, only a key holder (the API with ``Authorization: Bearer``, the
page at /admin after logging in with a key); otherwise nobody. With reader keys, the page at /
asks for a key too.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home from a server

import gradio as gr
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, Response
from starlette.datastructures import Headers
from starlette.types import Scope

from qa import Assistant, Settings
from ui import render
from ui.admin import admin_routes
from ui.api import error, reader_routes, too_many
from ui.app import build_blocks
from ui.guard import Guard, security_headers
from ui.limits import RateLimited
from ui.observe import setup_logging
from ui.service import ChatService
from ui.site import Site

GRADIO_JS = Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js"
ADMIN_PATH = "/admin"
MULTIPART_SLACK = 64 * 1024
log = logging.getLogger("ui.server")


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """The FastAPI app with the API routes and the Gradio pages mounted."""
    site = Site.create(settings, ChatService(settings, assistant))
    server = settings.server
    app = FastAPI(title="qa: news question answering", version="1", docs_url="/api/docs",
                  redoc_url=None, openapi_url="/api/openapi.json")
    app.add_middleware(Guard, metrics=site.metrics, headers=security_headers(server.frame_ancestors),
                       body_limit=_body_limit(settings), client_of=lambda scope: _scope_client(site, scope),
                       refuse=lambda scope: _refusal(site, scope))
    if server.allowed_origins:  # Gradio then defers to this one policy for its routes too
        app.add_middleware(CORSMiddleware, allow_origins=server.allowed_origins, allow_credentials=True,
                           allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"])
    reader_routes(app, site)
    admin_routes(app, site)

    @app.get("/gradio.js", include_in_schema=False)
    def gradio_js() -> FileResponse:
        # A module script is fetched with CORS; it is public code, so any origin may load it.
        return FileResponse(GRADIO_JS, media_type="text/javascript",
                            headers={"Access-Control-Allow-Origin": "*"})

    _mount_pages(app, site)
    app.state.service = site.service
    app.state.site = site
    return app


def _mount_pages(app: FastAPI, site: Site) -> None:
    server, access = site.settings.server, site.access
    common: dict[str, Any] = {
        "css": render.CSS, "js": render.JS, "max_file_size": int(server.max_upload_mb * 1024 * 1024),
        "footer_links": ["api"], "show_error": False, "ssr_mode": False, "mcp_server": False}
    if access.writes == "keys":
        def is_admin(request: gr.Request) -> bool:  # the login cookie names the user; re-checked anyway
            return getattr(request, "username", None) is not None

        admin = build_blocks(site, writable=True, may_write=is_admin)
        admin.queue(default_concurrency_limit=None)
        gr.mount_gradio_app(app, admin, path=ADMIN_PATH,
                            root_path=(server.root_path + ADMIN_PATH) if server.root_path else None,
                            auth=lambda _user, key: access.check_password("admin", key),
                            auth_message="Log in with an admin key as the password (any user name).",
                            **common)
    open_writes = access.writes == "open"
    page = build_blocks(site, writable=open_writes, may_write=lambda _request: open_writes)
    # Answers wait in ui.jobs' queue, in arrival order with API questions; Gradio need not hold them.
    page.queue(default_concurrency_limit=None)
    auth = (lambda _user, key: access.check_password("any", key)) if access.private else None
    gr.mount_gradio_app(app, page, path="/", root_path=server.root_path or None, auth=auth,
                        auth_message="This assistant is private: log in with your key as the password."
                        if auth else None, **common)


def _body_limit(settings: Settings) -> Callable[[str], int | None]:
    json_limit = settings.server.max_body_kb * 1024
    upload_limit = int(settings.server.max_upload_mb * 1024 * 1024) + MULTIPART_SLACK

    def limit(path: str) -> int | None:
        if path.startswith("/api/articles"):
            return upload_limit
        return json_limit if path.startswith("/api/") else None  # Gradio's routes have their own

    return limit


def _scope_client(site: Site, scope: Scope) -> str:
    peer = scope.get("client")
    return site.client(peer[0] if peer else None, Headers(scope=scope))


def _refusal(site: Site, scope: Scope) -> Response | None:
    """Requests refused before they reach a route."""
    path, method = scope["path"], scope["method"]
    if method == "POST" and path == "/gradio_api/upload" and site.access.writes != "open":
        return error(403, "this page takes no uploads")  # the reader's page has no upload component
    if method == "POST" and path.rstrip("/").endswith("/login"):
        try:
            site.spend("login", _scope_client(site, scope))
        except RateLimited as exc:
            return too_many(exc)
    return None


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
    setup_logging(settings.server.log_format)
    app = create_app(settings, assistant)
    app.state.service.warm_up()
    site: Site = app.state.site
    host, port = settings.server.host, settings.server.port
    url = f"http://{host}:{port}{settings.server.root_path}"
    log.info("serving", extra={"url": url, "writes": site.access.writes, "private": site.access.private,
                               "proxy_hops": settings.server.proxy_hops})
    if site.access.writes == "off":
        log.warning("adding articles is off: the server is not on loopback only and has no admin keys "
                    "(access.admin_keys or access.admin_keys_file)")

    def ready() -> None:
        if on_ready:
            on_ready(url, time.perf_counter() - started)

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None,
                            timeout_graceful_shutdown=3)
    _Server(config, ready).run()
