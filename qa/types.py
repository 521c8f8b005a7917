"""Frozen records passed between the stages of the pipeline.

Offsets are character offsets into ``Article.text``, the stored (cleaned) text, so that
``article.text[s.start:s.end] == s.text`` always holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    path: str | None = None
    captions: tuple[tuple[int, int], ...] = ()  # (start, end) spans of photo captions in text


@dataclass(frozen=True)
class Sentence:
    article_id: str
    idx: int
    start: int
    end: int
    text: str
    is_caption: bool = False


@dataclass(frozen=True)
class Chunk:
    article_id: str
    first_sentence: int  # inclusive
    last_sentence: int  # inclusive
    text: str
    id: int | None = None  # assigned by the store


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the ranks it had in each retriever."""

    chunk: Chunk
    score: float
    title: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    date: str | None
    source: str | None
    sentence: str
    start: int
    end: int
    is_caption: bool = False
    sentence_idx: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("sentence_idx")
        return d


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    mode: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    retrieved: tuple[Hit, ...] = ()
    standalone_question: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``qa ask --json`` and ``POST /api/ask`` (DESIGN.md)."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "mode": self.mode,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


ABSTAIN_MESSAGE = "I could not find this in the indexed articles."
