"""A live server for the web tests: the real FastAPI + Gradio app on a free loopback port, over
the seed article indexed with the fake embedder (no model download, starts in a second or two).
Browser tests drive Debian's Chromium (/usr/bin/chromium) with Playwright; `make browser-deps`
installs it. They fail rather than skip when it is missing, so CI cannot pass without them."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import Assistant, FakeEmbedder, Settings, index_paths, load_settings

ROOT = Path(__file__).resolve().parents[2]
SEED_ARTICLE = ROOT / "seeds" / "uk-urges-coalition-ukraine-planning.txt"
CHROMIUM = os.environ.get("QA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    """uvicorn in a thread, on a socket bound before it starts (no port race)."""

    def __init__(self, app, sock: socket.socket) -> None:
        import uvicorn

        self.sock = sock
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class StaticSite:
    """A second origin serving examples/ (the page that embeds the app)."""

    def __init__(self, folder: Path, sock: socket.socket) -> None:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.port = sock.getsockname()[1]
        sock.close()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.url = f"http://localhost:{self.port}"  # another host name: a real cross-origin embed
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StaticSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def web_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="session")
def site_socket() -> socket.socket:
    return free_socket()


@pytest.fixture(scope="session")
def web_settings(web_dir: Path, site_socket: socket.socket) -> Settings:
    site_origin = f"http://localhost:{site_socket.getsockname()[1]}"
    settings = load_settings(
        index={"dir": web_dir / "index"},
        embedding={"model": "fake-hash"},
        answer={"max_question_chars": 300, "chat_mode": "extractive"},  # no 1.5B model here
        server={"upload_dir": web_dir / "uploads", "feedback_path": web_dir / "feedback.jsonl",
                "max_upload_mb": 0.05, "allowed_origins": [site_origin], "frame_ancestors": [site_origin]},
        # One shared server, one client address for every test: the per-client budgets are
        # tested on servers of their own (test_limits.py).
        limits={"extractive": "10000/minute", "llm": "10000/minute"},
    )
    report = index_paths([SEED_ARTICLE], settings, embedder=FakeEmbedder(name="fake-hash"))
    assert report.indexed
    return settings


@pytest.fixture(scope="session")
def live_server(web_settings: Settings) -> Iterator[LiveServer]:
    from ui.server import create_app

    assistant = Assistant(web_settings, embedder=FakeEmbedder(name="fake-hash"))
    app = create_app(web_settings, assistant)
    app.state.service.warm_up()
    with LiveServer(app, free_socket()) as server:
        yield server


@pytest.fixture(scope="session")
def embed_site(site_socket: socket.socket, live_server: LiveServer) -> Iterator[StaticSite]:
    with StaticSite(ROOT / "examples", site_socket) as site:
        yield site


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator:
    """A fresh headless Chromium (its own empty profile) and one page; JS errors and dialogs are
    collected in ``page.qa_events`` so tests can assert that nothing ran."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium with `make browser-deps`")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # assertions wait like actions do: CI machines are busy
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(dir=tmp_path, prefix="chromium-profile-"), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(60_000)
        page = context.new_page()
        events: list[str] = []
        page.on("pageerror", lambda e: events.append(f"pageerror: {e}"))
        page.on("dialog", lambda d: (events.append(f"dialog: {d.message}"), d.dismiss()))
        page.qa_events = events
        try:
            yield page
        finally:
            context.close()


def seed_settings(folder: Path, **sections: dict) -> Settings:
    """Settings over a fresh index of the seed article (fake embedder) in ``folder``; ``sections``
    are merged into the settings' sections (e.g. ``access={"admin_keys": [...]}``)."""
    server = {"upload_dir": folder / "uploads", "feedback_path": folder / "feedback.jsonl",
              **sections.pop("server", {})}
    sections["answer"] = {"chat_mode": "extractive", **sections.get("answer", {})}  # no 1.5B model
    settings = load_settings(index={"dir": folder / "index"}, embedding={"model": "fake-hash"},
                             server=server, **sections)
    if not (folder / "index").exists():
        assert index_paths([SEED_ARTICLE], settings, embedder=FakeEmbedder(name="fake-hash")).indexed
    return settings


def serve_app(settings: Settings, assistant: Assistant | None = None) -> LiveServer:
    """The real app for ``settings`` on a free loopback port: ``with serve_app(s) as server: ...``."""
    from ui.server import create_app

    app = create_app(settings, assistant or Assistant(settings, embedder=FakeEmbedder(name="fake-hash")))
    app.state.service.warm_up()
    return LiveServer(app, free_socket())
