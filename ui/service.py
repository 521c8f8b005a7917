"""What the web front ends (Gradio page and HTTP API) do, over the public ``qa`` API.

One ``ChatService`` per process holds the ``Assistant`` (models loaded once, shared between
threads, as ``qa.chain`` allows) and turns UI-level requests into library calls: questions with
filters, articles added from the page or the API, articles removed, feedback. Errors the user
can fix arrive as ``QAError``. Who may call the writing half is decided by the callers
(``ui.access``); every write holds one lock, so the upload folder's size cap and the index agree.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from qa import (
    Answer,
    Assistant,
    IndexReport,
    InputError,
    Settings,
    check_question,
    default_chat_mode,
    index_paths,
    remove_articles,
)
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
        self.ready = False
        self.chat_mode = default_chat_mode(settings)  # llm when installed (answer.chat_mode)

    # ------------------------------------------------------------ reading

    def warm_up(self) -> ChatService:
        self.assistant.warm_up()
        if self.chat_mode != self.settings.answer.mode:
            self.assistant.warm_up(self.chat_mode)
        self.ready = True
        return self

    def modes(self) -> list[str]:
        """Answer modes to offer: llm when the chat uses it or it is configured."""
        s = self.settings
        llm = "llm" in (s.answer.mode, self.chat_mode) or s.llm.base_url is not None \
            or s.llm.gguf_path is not None
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
        """The index and models are loaded: what /api/ready reports."""
        info = self.assistant.index.info()
        return {"status": "ready", "articles": info["articles"], "chunks": info["chunks"],
                "embedding_model": info["embedding_model"], "modes": self.modes()}

    # ------------------------------------------------------------ writing

    @property
    def _max_bytes(self) -> int:
        return int(self.settings.server.max_upload_mb * 1024 * 1024)

    @property
    def _folder_cap(self) -> int:
        return int(self.settings.server.upload_dir_max_mb * 1024 * 1024)

    def add_files(self, uploads: Sequence[tuple[Path, str]], progress: Progress | None = None) -> list[str]:
        """Save (temp path, original name) uploads in the upload folder and index them.

        Returns one message per file or problem; a file that cannot be used is a message, and
        the others are still indexed.
        """
        with self._write_lock:
            saved, refused = self._save_each(uploads, lambda src, name: files.save_upload(
                src, name, self.settings.server.upload_dir, self._max_bytes, self._folder_cap))
            return report_lines(self._index(saved, progress), refused) if saved else refused

    def add_streams(self, uploads: Sequence[tuple[BinaryIO, str]]) -> dict[str, list]:
        """Files of an HTTP upload: saved, indexed; what was indexed, skipped and refused."""
        with self._write_lock:
            saved, refused = self._save_each(uploads, lambda f, name: files.save_stream(
                f, name, self.settings.server.upload_dir, self._max_bytes, self._folder_cap))
            return report_dict(self._index(saved, None) if saved else IndexReport(), refused)

    def add_rows(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, list]:
        """Articles given as JSON fields, kept as one articles JSONL file and indexed."""
        with self._write_lock:
            path = files.save_rows(self.settings.server.upload_dir, rows, self._folder_cap)
            return report_dict(self._index([path], None), [])

    def add_text(self, title: str, text: str, date: str | None = None, source: str | None = None,
                 progress: Progress | None = None) -> list[str]:
        if len(text.encode("utf-8")) > self._max_bytes:
            raise InputError(f"the pasted text is over the upload limit of {self._max_bytes / 1e6:.1f} MB")
        with self._write_lock:
            path = files.save_pasted(self.settings.server.upload_dir, title, text, date, source,
                                     self._folder_cap)
            return report_lines(self._index([path], progress), [])

    def remove(self, article_id: str) -> list[str]:
        """Remove one article from the index (its file stays in the upload folder)."""
        with self._write_lock:
            return remove_articles([article_id], self.settings)

    def _save_each(self, uploads: Sequence[tuple[Any, str]],
                   save: Callable[[Any, str], Path]) -> tuple[list[Path], list[str]]:
        saved: list[Path] = []
        refused: list[str] = []
        for source, name in uploads:
            try:
                saved.append(save(source, name))
            except InputError as exc:
                refused.append(f"Not added: {exc}")
        return saved, refused

    def _index(self, paths: list[Path], progress: Progress | None) -> IndexReport:
        def report_progress(state: Any) -> None:
            if progress:
                progress(state.articles, state.articles_total)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return index_paths(paths, self.settings, embedder=self.assistant.embedder,
                               progress=report_progress)

    def record_feedback(self, answer: Mapping[str, Any], vote: str) -> dict[str, Any]:
        limits = self.settings.limits
        return feedback.record(self.settings.server.feedback_path, answer, vote,
                               max_row_bytes=int(limits.feedback_row_kb * 1024),
                               max_file_bytes=int(limits.feedback_file_mb * 1024 * 1024),
                               keep=limits.feedback_files)


def report_lines(report: IndexReport, refused: list[str]) -> list[str]:
    """The page's status lines for an indexing run."""
    lines = [f"Indexed: {i}" for i in report.indexed]
    lines += [f"Already indexed, unchanged: {i}" for i in report.unchanged]
    lines += [f"Skipped, same text as another article: {d}" for d in report.duplicates]
    lines += [f"Problem: {_short(e)}" for e in report.errors]
    return (lines + refused) or ["Nothing to index in that file."]


def report_dict(report: IndexReport, refused: list[str]) -> dict[str, list]:
    """The API's answer for an indexing run: indexed ids, skipped ids with the reason, refusals."""
    skipped = [{"id": i, "reason": "unchanged"} for i in report.unchanged]
    skipped += [{"id": d.split(" ", 1)[0], "reason": "duplicate: " + d.split(" ", 1)[-1].strip("()")}
                for d in report.duplicates]
    return {"indexed": list(report.indexed), "skipped": skipped,
            "refused": [_short(e) for e in report.errors] + [r.removeprefix("Not added: ") for r in refused]}


def _history(history: Sequence[Mapping[str, str]] | None) -> list[dict[str, str]]:
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in history or []]


def _short(message: str) -> str:
    """Error lines name the saved path; the user knows the file by its name."""
    head, sep, rest = message.partition(": ")
    return f"{Path(head).name}: {rest}" if sep and "/" in head else message
