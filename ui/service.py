"""What the web front ends (Gradio page and HTTP API) do, over the public ``qa`` API.

One ``ChatService`` per process holds the ``Assistant`` (models loaded once, shared between
threads, as ``qa.chain`` allows) and turns UI-level requests into library calls: questions with
filters, articles added from the page, feedback. Errors the user can fix arrive as ``QAError``.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from qa import Answer, Assistant, InputError, Settings, check_question, index_paths
from ui import feedback, files

# Offered as examples on the page: questions the shipped seed article answers.
SEED_EXAMPLES = [
    "Who chaired the meeting?",
    "And who chairs the meeting on Friday?",
    "How many military planners have been developing plans?",
    "How many Chinese citizens were fighting for Russia?",
]

Progress = Callable[[int, int], None]


def make_filters(source: str | None = None, date_from: str | None = None,
                 date_to: str | None = None) -> dict[str, str | None] | None:
    filters = {"source": source or None, "date_from": date_from or None, "date_to": date_to or None}
    return filters if any(filters.values()) else None


class ChatService:
    def __init__(self, settings: Settings, assistant: Assistant | None = None) -> None:
        self.settings = settings
        self.assistant = assistant or Assistant(settings)
        self._write_lock = threading.Lock()

    # ------------------------------------------------------------ reading

    def warm_up(self) -> ChatService:
        self.assistant.warm_up()
        return self

    def modes(self) -> list[str]:
        """Answer modes to offer: llm only when it is configured."""
        s = self.settings
        llm = s.answer.mode == "llm" or s.llm.base_url is not None or s.llm.gguf_path is not None
        return ["extractive", "llm"] if llm else ["extractive"]

    def check(self, question: str) -> str:
        return check_question(question, self.settings)

    def ask(self, question: str, history: Sequence[Mapping[str, str]] | None = None, *,
            k: int | None = None, filters: dict | None = None, mode: str | None = None,
            as_of: str | None = None) -> Answer:
        self.check(question)
        return self.assistant.ask(question, _history(history), k=k, filters=filters, mode=mode,
                                  as_of=as_of)

    def stream(self, question: str, history: Sequence[Mapping[str, str]] | None = None, *,
               k: int | None = None, filters: dict | None = None,
               mode: str | None = None, as_of: str | None = None) -> Iterator[tuple[str, Any]]:
        self.check(question)
        yield from self.assistant.stream(question, _history(history), k=k, filters=filters,
                                         mode=mode, as_of=as_of)

    def article_text(self, article_id: str) -> str | None:
        with self.assistant.index.snapshot() as reader:
            article = reader.article(article_id)
        return article.text if article else None

    def articles(self) -> list[dict[str, Any]]:
        return self.assistant.index.articles()

    def sources(self) -> list[str]:
        return sorted({a["source"] for a in self.articles() if a.get("source")})

    def health(self) -> dict[str, Any]:
        info = self.assistant.index.info()
        return {"status": "ok", "articles": info["articles"], "chunks": info["chunks"],
                "embedding_model": info["embedding_model"], "modes": self.modes()}

    # ------------------------------------------------------------ writing

    def add_files(self, uploads: Sequence[tuple[Path, str]], progress: Progress | None = None) -> list[str]:
        """Save (temp path, original name) uploads in the upload folder and index them.

        Returns one message per file or problem; a file that cannot be used is a message, and
        the others are still indexed.
        """
        server = self.settings.server
        saved: list[Path] = []
        messages: list[str] = []
        for source, name in uploads:
            try:
                saved.append(files.save_upload(source, name, server.upload_dir,
                                               int(server.max_upload_mb * 1024 * 1024)))
            except InputError as exc:
                messages.append(f"Not added: {exc}")
        if saved:
            messages = self._index(saved, progress) + messages
        return messages

    def add_text(self, title: str, text: str, date: str | None = None, source: str | None = None,
                 progress: Progress | None = None) -> list[str]:
        limit = int(self.settings.server.max_upload_mb * 1024 * 1024)
        if len(text.encode("utf-8")) > limit:
            raise InputError(f"the pasted text is over the upload limit of {limit / 1e6:.1f} MB")
        path = files.save_pasted(self.settings.server.upload_dir, title, text, date, source)
        return self._index([path], progress)

    def _index(self, paths: list[Path], progress: Progress | None) -> list[str]:
        def report_progress(state: Any) -> None:
            if progress:
                progress(state.articles, state.articles_total)

        with self._write_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = index_paths(paths, self.settings, embedder=self.assistant.embedder,
                                 progress=report_progress)
        lines = [f"Indexed: {i}" for i in report.indexed]
        lines += [f"Already indexed, unchanged: {i}" for i in report.unchanged]
        lines += [f"Skipped, same text as another article: {d}" for d in report.duplicates]
        lines += [f"Problem: {_short(e)}" for e in report.errors]
        return lines or ["Nothing to index in that file."]

    def record_feedback(self, answer: Mapping[str, Any], vote: str) -> dict[str, Any]:
        return feedback.record(self.settings.server.feedback_path, answer, vote)


def _history(history: Sequence[Mapping[str, str]] | None) -> list[dict[str, str]]:
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in history or []]


def _short(message: str) -> str:
    """Error lines name the saved path; the user knows the file by its name."""
    head, sep, rest = message.partition(": ")
    return f"{Path(head).name}: {rest}" if sep and "/" in head else message
