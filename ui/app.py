"""The Gradio page: chat with streamed, cited answers; sources; adding articles; settings.

Gradio 6 Blocks rather than ChatInterface, because one answer updates three things (the chat,
the sources panel and the conversation state) and the page has an article upload beside it.
Every string shown comes out of ``ui.render`` (escaped); Gradio's own sanitizer stays on.
The conversation state keeps the plain-text history (what ``Assistant`` reads for follow-ups)
and the answer behind each chat message (what a thumbs up/down records).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from qa import ARTICLE_SUFFIXES, QAError
from ui import render
from ui.service import SEED_EXAMPLES, ChatService, make_filters

log = logging.getLogger(__name__)
ANY_SOURCE = "(any source)"
UPLOAD_TYPES = list(ARTICLE_SUFFIXES)


def new_conversation() -> dict[str, Any]:
    return {"history": [], "answers": {}}


def build_blocks(service: ChatService) -> gr.Blocks:
    settings = service.settings
    with gr.Blocks(title="News QA") as demo:
        conv = gr.State(new_conversation())
        gr.Markdown("## Ask the news\nAnswers quote the articles: click a **[n]** to see the sentence "
                    "it cites, highlighted in its paragraph.")
        with gr.Row():
            with gr.Column(scale=3):
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
                    clear = gr.Button("New conversation", scale=1, size="sm", variant="secondary",
                                      elem_id="qa-clear")
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
                with gr.Accordion("Add articles", open=False, elem_id="qa-add"):
                    with gr.Tab("Upload files"):
                        upload = gr.File(label=f"Articles ({', '.join(UPLOAD_TYPES)}; up to "
                                         f"{settings.server.max_upload_mb:g} MB each)",
                                         file_count="multiple", file_types=UPLOAD_TYPES,
                                         type="filepath", elem_id="qa-upload")
                        index_btn = gr.Button("Index files", elem_id="qa-index-files")
                    with gr.Tab("Paste text"):
                        title = gr.Textbox(label="Title", elem_id="qa-paste-title")
                        with gr.Row():
                            pdate = gr.Textbox(label="Date", placeholder="YYYY-MM-DD",
                                               elem_id="qa-paste-date")
                            psource = gr.Textbox(label="Source", elem_id="qa-paste-source")
                        text = gr.Textbox(label="Article text", lines=8, elem_id="qa-paste-text")
                        paste_btn = gr.Button("Add article", elem_id="qa-paste-add")
                    status = gr.HTML("", elem_id="qa-add-status", min_height=40, padding=True)

        def respond(message: str, chat: list, conv: dict, k: float, mode: str, source: str,
                    date_from: str, date_to: str) -> Iterator[tuple]:
            yield from _respond(service, message, chat, conv, k, mode, source, date_from, date_to)

        def vote(conv: dict, data: gr.LikeData) -> None:
            _vote(service, conv, data)

        ask_inputs = [box, chat, conv, k, mode, source, date_from, date_to]
        ask_outputs = [chat, sources, conv, box]
        for trigger in (box.submit, ask.click):
            trigger(respond, ask_inputs, ask_outputs, api_visibility="private")
        clear.click(lambda: ([], render.sources_html([]), new_conversation(), ""), None,
                    [chat, sources, conv, box], api_visibility="private")
        chat.like(vote, [conv], None, api_visibility="private")

        def add_files(paths: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
            uploads = [(Path(p), Path(p).name) for p in paths or []]
            if not uploads:
                return _status(["Choose one or more files first."]), gr.skip()
            progress(0, desc="Indexing…")
            try:
                lines = service.add_files(uploads, lambda n, t: progress((n, t), desc="Indexing"))
            except QAError as exc:
                return _status([f"Not added: {exc}"]), gr.skip()
            return _status(lines), _source_choices(service)

        def add_text(t: str, body: str, d: str, s: str,
                     progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
            progress(0, desc="Indexing…")
            try:
                lines = service.add_text(t, body, d, s, lambda n, tot: progress((n, tot), desc="Indexing"))
            except QAError as exc:
                return _status([f"Not added: {exc}"]), gr.skip()
            return _status(lines), _source_choices(service)

        index_btn.click(add_files, [upload], [status, source], api_visibility="private")
        paste_btn.click(add_text, [title, text, pdate, psource], [status, source], api_visibility="private")

        def ask_api(question: str, k: int = 0, source: str = "", date_from: str = "",
                    date_to: str = "") -> dict:
            """Ask a question about the indexed articles; returns the `qa ask --json` object."""
            answer = service.ask(question, k=k or None, filters=make_filters(source, date_from, date_to))
            return answer.to_dict()

        gr.api(ask_api, api_name="ask")
    return demo


def _respond(service: ChatService, message: str, chat: list, conv: dict, k: float, mode: str,
             source: str, date_from: str, date_to: str) -> Iterator[tuple]:
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
        for kind, value in service.stream(message, conv["history"], k=int(k), filters=filters, mode=mode):
            if kind == "token":
                partial += value
                chat[-1] = {"role": "assistant", "content": render.streaming_html(partial)}
                yield chat, gr.skip(), conv, ""
            elif kind == "answer":
                answer = value
    except QAError as exc:
        chat[-1] = {"role": "assistant", "content": render.error_html(str(exc))}
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
                "content": render.answer_html(data, "m" + uuid.uuid4().hex[:10], service.article_text)}
    conv = {"history": [*conv["history"], {"role": "user", "content": message},
                        {"role": "assistant", "content": answer.text}],
            "answers": {**conv["answers"], str(len(chat) - 1): data}}
    yield chat, render.sources_html(data["citations"]), conv, ""


def _vote(service: ChatService, conv: dict, data: gr.LikeData) -> None:
    index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
    answer = conv["answers"].get(str(index))
    if answer is None:  # an error message or a message from before a reload
        return
    service.record_feedback(answer, "up" if data.liked is True else "down")
    gr.Info("Thanks, your feedback was recorded.")


def _status(lines: list[str]) -> str:
    return render.status_html(lines)


def _source_choices(service: ChatService) -> Any:
    return gr.update(choices=[ANY_SOURCE, *service.sources()])
