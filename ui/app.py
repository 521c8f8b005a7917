"""The Gradio pages: chat with streamed, cited answers; sources; settings; adding articles.

Gradio 6 Blocks rather than ChatInterface, because one answer updates three things (the chat,
the sources panel and the conversation state) and the page has an article upload beside it.
Every string shown comes out of ``ui.render`` (escaped); Gradio's own sanitizer stays on.
The conversation state keeps the plain-text history (what ``Assistant`` reads for follow-ups)
and the answer behind each chat message (what a thumbs up/down records).

The same builder makes the reader's page and the admin's: "Add articles" is built only into a
page for writers (``writable``), so a reader's page has no such component and no event to call;
every write event still asks ``may_write`` for its own request, server-side.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import gradio as gr

from qa import ARTICLE_SUFFIXES, InputError, QAError
from ui import render
from ui.jobs import DeadlineExceeded, first
from ui.limits import RateLimited
from ui.service import SEED_EXAMPLES, make_filters
from ui.site import Site

log = logging.getLogger(__name__)
ANY_SOURCE = "(any source)"
UPLOAD_TYPES = list(ARTICLE_SUFFIXES)
NOT_ALLOWED = "Not added: this page may not add articles."

MayWrite = Callable[[gr.Request], bool]


def new_conversation() -> dict[str, Any]:
    return {"history": [], "answers": {}}


def client_of(site: Site, request: gr.Request) -> str:
    client = getattr(request, "client", None)
    return site.client(getattr(client, "host", None), dict(request.headers or {}))


def build_blocks(site: Site, writable: bool = False, may_write: MayWrite | None = None) -> gr.Blocks:
    """The chat page; with ``writable``, also the "Add articles" panel (for writers only)."""
    settings = site.settings
    service = site.service
    # Gradio keeps uploads in its cache: delete them after an hour, checking hourly.
    with gr.Blocks(title="News QA", delete_cache=(3600, 3600)) as demo:
        conv = gr.State(new_conversation())
        gr.Markdown("## Ask the news\nAnswers quote the articles: click a **[n]** to see the sentence "
                    "it cites, highlighted in its paragraph.")
        with gr.Row():
            with gr.Column(scale=3):
                chat, box, ask, clear = _chat_panel()
                gr.Examples(SEED_EXAMPLES, inputs=box, label="Examples (the shipped seed article)")
                with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                    k = gr.Slider(1, 20, value=settings.retrieval.k, step=1, label="Sources retrieved (k)")
                    mode = gr.Radio(service.modes(), value=service.chat_mode, label="Answer mode")
                    with gr.Row():
                        source = gr.Dropdown([ANY_SOURCE, *service.sources()], value=ANY_SOURCE,
                                             label="Source", allow_custom_value=True)
                        date_from = gr.Textbox(label="From date", placeholder="YYYY-MM-DD")
                        date_to = gr.Textbox(label="To date", placeholder="YYYY-MM-DD")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render.sources_html([]), elem_id="qa-sources")
                if writable:
                    _add_articles_panel(site, source, may_write or (lambda request: True))

        async def respond(message: str, chat: list, conv: dict, k: float, mode: str, source: str,
                          date_from: str, date_to: str, request: gr.Request) -> AsyncIterator[tuple]:
            async for update in _respond(site, client_of(site, request), message, chat, conv, k, mode,
                                         source, date_from, date_to):
                yield update

        def vote(conv: dict, data: gr.LikeData, request: gr.Request) -> None:
            _vote(site, client_of(site, request), conv, data)

        ask_inputs = [box, chat, conv, k, mode, source, date_from, date_to]
        ask_outputs = [chat, sources, conv, box]
        for trigger in (box.submit, ask.click):
            trigger(respond, ask_inputs, ask_outputs, api_visibility="private")
        clear.click(lambda: ([], render.sources_html([]), new_conversation(), ""), None,
                    [chat, sources, conv, box], api_visibility="private")
        chat.like(vote, [conv], None, api_visibility="private")

        async def ask_api(question: str, k: int = 0, source: str = "", date_from: str = "",
                          date_to: str = "", request: gr.Request = None) -> dict:  # type: ignore[assignment]
            """Ask a question about the indexed articles; returns the `qa ask --json` object."""
            return await _ask_api(site, client_of(site, request), question, k,
                                  make_filters(source, date_from, date_to))

        gr.api(ask_api, api_name="ask")
    return demo


def _chat_panel() -> tuple[gr.Chatbot, gr.Textbox, gr.Button, gr.Button]:
    chat = gr.Chatbot(
        label="Conversation", elem_id="qa-chat", height=520, render_markdown=False,
        sanitize_html=True, latex_delimiters=[], buttons=["copy"],
        feedback_options=("Like", "Dislike"), allow_tags=False,
        placeholder="Ask a question about the indexed articles.",
    )
    with gr.Row():
        box = gr.Textbox(placeholder="Ask a question…", show_label=False, scale=5,
                         elem_id="qa-question", autofocus=True, submit_btn=False)
        ask = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
        clear = gr.Button("New conversation", scale=1, size="sm", variant="secondary", elem_id="qa-clear")
    return chat, box, ask, clear


def _add_articles_panel(site: Site, source: gr.Dropdown, may_write: MayWrite) -> None:
    service = site.service
    with gr.Accordion("Add articles", open=False, elem_id="qa-add"):
        with gr.Tab("Upload files"):
            upload = gr.File(label=f"Articles ({', '.join(UPLOAD_TYPES)}; up to "
                             f"{site.settings.server.max_upload_mb:g} MB each)",
                             file_count="multiple", file_types=UPLOAD_TYPES,
                             type="filepath", elem_id="qa-upload")
            index_btn = gr.Button("Index files", elem_id="qa-index-files")
        with gr.Tab("Paste text"):
            title = gr.Textbox(label="Title", elem_id="qa-paste-title")
            with gr.Row():
                pdate = gr.Textbox(label="Date", placeholder="YYYY-MM-DD", elem_id="qa-paste-date")
                psource = gr.Textbox(label="Source", elem_id="qa-paste-source")
            text = gr.Textbox(label="Article text", lines=8, elem_id="qa-paste-text")
            paste_btn = gr.Button("Add article", elem_id="qa-paste-add")
        status = gr.HTML("", elem_id="qa-add-status", min_height=40, padding=True)

    def add_files(paths: list[str] | None, request: gr.Request,
                  progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        if not may_write(request):
            return _status([NOT_ALLOWED]), gr.skip()
        uploads = [(Path(p), Path(p).name) for p in paths or []]
        if not uploads:
            return _status(["Choose one or more files first."]), gr.skip()
        progress(0, desc="Indexing…")
        return _added(service, lambda: service.add_files(
            uploads, lambda n, t: progress((n, t), desc="Indexing")))

    def add_text(t: str, body: str, d: str, s: str, request: gr.Request,
                 progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        if not may_write(request):
            return _status([NOT_ALLOWED]), gr.skip()
        progress(0, desc="Indexing…")
        return _added(service, lambda: service.add_text(
            t, body, d, s, lambda n, tot: progress((n, tot), desc="Indexing")))

    index_btn.click(add_files, [upload], [status, source], api_visibility="private", concurrency_limit=1)
    paste_btn.click(add_text, [title, text, pdate, psource], [status, source], api_visibility="private",
                    concurrency_limit=1)


def _added(service: Any, add: Callable[[], list[str]]) -> tuple:
    try:
        lines = add()
    except QAError as exc:
        return _status([f"Not added: {exc}"]), gr.skip()
    return _status(lines), gr.update(choices=[ANY_SOURCE, *service.sources()])


async def _respond(site: Site, client: str, message: str, chat: list, conv: dict, k: float, mode: str,
                   source: str, date_from: str, date_to: str) -> AsyncIterator[tuple]:
    """One question: echo it, stream the answer, then the footnoted answer and its sources."""
    chat = list(chat or [])
    if not (message or "").strip():
        yield chat, gr.skip(), conv, ""
        return
    chat.append({"role": "user", "content": render.user_html(message)})
    chat.append({"role": "assistant", "content": render.streaming_html("")})
    yield chat, gr.skip(), conv, ""
    filters = make_filters(None if source == ANY_SOURCE else source, (date_from or "").strip(),
                           (date_to or "").strip())
    partial, answer = "", None
    try:
        site.service.check(message)
        site.admit(client, mode)
        async for kind, value in site.answer_events(message, conv["history"], k=int(k), filters=filters,
                                                    mode=mode):
            if kind == "token":
                partial += value
                chat[-1] = {"role": "assistant", "content": render.streaming_html(partial)}
                yield chat, gr.skip(), conv, ""
            elif kind == "answer":
                answer = value
    except (QAError, RateLimited, DeadlineExceeded) as exc:
        chat[-1] = {"role": "assistant", "content": render.error_html(_sentence(str(exc)))}
        yield chat, gr.skip(), conv, ""
        return
    except Exception:  # a bug: its traceback goes to the log, the page gets a short message
        log.exception("answering %r failed", message)
        chat[-1] = {"role": "assistant", "content": render.error_html(
            "Something went wrong while answering; the server log has the details.")}
        yield chat, gr.skip(), conv, ""
        return
    assert answer is not None
    data = answer.to_dict()
    chat[-1] = {"role": "assistant",
                "content": render.answer_html(data, "m" + uuid.uuid4().hex[:10], site.service.article_text)}
    conv = {"history": [*conv["history"], {"role": "user", "content": message},
                        {"role": "assistant", "content": answer.text}],
            "answers": {**conv["answers"], str(len(chat) - 1): data}}
    yield chat, render.sources_html(data["citations"]), conv, ""


async def _ask_api(site: Site, client: str, question: str, k: int, filters: dict | None) -> dict:
    try:
        site.service.check(question)
        site.admit(client, None)
        events = site.answer_events(question, k=k or None, filters=filters, tokens=False)
        event = await first(events, lambda e: e[0] == "answer")
    except (QAError, RateLimited, DeadlineExceeded) as exc:
        raise gr.Error(str(exc)) from None
    return event[1].to_dict()


def _vote(site: Site, client: str, conv: dict, data: gr.LikeData) -> None:
    index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
    answer = conv["answers"].get(str(index))
    if answer is None:  # an error message or a message from before a reload
        return
    try:
        site.spend("feedback", client)
        site.service.record_feedback(answer, "up" if data.liked is True else "down")
    except (RateLimited, InputError) as exc:
        gr.Warning(str(exc))
        return
    gr.Info("Thanks, your feedback was recorded.")


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _status(lines: list[str]) -> str:
    return render.status_html(lines)
