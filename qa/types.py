"""Frozen records passed between the stages of the pipeline.

Offsets are character offsets into ``Article.text``, the stored (cleaned) text, so that
``article.text[s.start:s.end] == s.text`` always holds.
"""

from __future__ import annotations

import datetime as dt
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
    story_id: str | None = None  # set by the store: wire copies share one (qa.ingest.copies)


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
    story_id: str | None = None  # wire copies share one; retrieval gives a story one slot


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
    also_in: tuple[str, ...] = ()  # other articles (wire copies) that carry this sentence

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("sentence_idx")
        d["also_in"] = list(self.also_in)
        return d


@dataclass(frozen=True)
class ShortAnswer:
    """The exact answer span inside a stored article: ``article.text[start:end] == text``.

    Set when the answer is a span (a name, a number, a place, a quote); ``None`` when the answer
    is a whole sentence.
    """

    text: str
    article_id: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DateWindow:
    """The publication dates a question is about, resolved against its as-of date (inclusive)."""

    start: dt.date
    end: dt.date
    phrase: str = ""  # the words it came from: "this week", "on Friday"

    def covers(self, published: dt.date, lag_days: int = 0) -> bool:
        """Is an article published on ``published`` about the window? News of an event often
        appears a day or more later: ``lag_days`` after the window's end still count."""
        return self.start <= published <= self.end + dt.timedelta(days=lag_days)


@dataclass(frozen=True)
class Question:
    """A question as the answer stage sees it, read once by ``qa.question.analyze``.

    ``text`` is the standalone question (follow-ups rewritten); ``interrogative`` is the part that
    asks, ``context`` the sentences before it ("A storm forced thousands to evacuate this week.");
    a pronoun of the interrogative part that points at the context is replaced by what it
    points at ("What is his name?" -> "What is the Ukrainian minister's name?").
    ``answer_type`` is one of ``qa.question.ANSWER_TYPES``; ``focus`` are the stemmed content
    words of the interrogative part (date expressions left out) that the answer must relate to;
    ``as_of`` is the date the question is asked on (``analyze`` fills in today when none is
    given); ``window`` the dates its date expression names ("this week"), or ``None``.

    Read from spaCy's parse of the interrogative part (``qa.question.parse``):

    - ``wh``: the question word(s): "who", "which", "how many", "how much", "how long"...; ""
      for yes/no questions and imperatives ("Name the team...").
    - ``focus_noun``: the lemma of the head noun of the wh-phrase: "breed" for "Which breed...",
      "governor" for "Which governor...", "team" for "Name the team...", "capital" for "What is
      the capital of...", "dog" for "What kind of dog..." (kind/type/sort/name look through to
      their noun); ``None`` when there is none ("Who...", "When...").
    - ``unit``: for number, money and duration questions, what is counted or measured: the lemma
      "troop" for "How many troops...", "oil" for "How much oil..."; "year" for "How old...";
      the adjective for "how far/big/tall/...". ``None`` when not said.
    - ``main_verb``: the lemma of the content verb ("declare", "say"); ``None`` for a copula
      ("Who is the minister?").
    - ``arguments``: the main verb's arguments as text, without the wh-phrase ("Healey",
      "a state of emergency", "at the summit").
    - ``speaker``: for statement questions ("What did Healey say?"), who is asked about, as
      written ("Healey"); ``None`` otherwise.
    - ``entities``: the names in the whole question: runs of proper nouns ("Real Madrid",
      "John Healey"), as (text, "PROPN") pairs (the tagger's, not the slower entity recogniser).
    """

    text: str
    interrogative: str
    context: str = ""
    answer_type: str = "other"
    focus: tuple[str, ...] = ()
    as_of: dt.date | None = None
    window: DateWindow | None = None
    wh: str = ""
    focus_noun: str | None = None
    unit: str | None = None
    main_verb: str | None = None
    arguments: tuple[str, ...] = ()
    speaker: str | None = None
    entities: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SourceSide:
    """One value the sources state, as ``Answer.sources`` reports it."""

    answer: str
    sources: int  # independent sources: stories, the copies of one wire story counting once
    date: str | None = None  # the latest publication date among them
    citations: tuple[int, ...] = ()  # the [n] markers that cite them

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "citations": list(self.citations)}


@dataclass(frozen=True)
class SourceCheck:
    """What independent sources say about the short answer (qa.answer.consensus).

    ``status``: "single" (one source), "agree" (several independent sources state it),
    "disagree" (sources state conflicting values at the same time: ``disagree`` lists the others),
    "updated" (a figure that changed: the answer is the latest, ``earlier`` the figure before).
    """

    status: str
    agree: int  # independent sources (stories) whose sentences state the answer
    citations: tuple[int, ...] = ()  # the [n] markers that cite the answer itself
    disagree: tuple[SourceSide, ...] = ()
    earlier: tuple[SourceSide, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "agree": self.agree, "citations": list(self.citations),
                "disagree": [s.to_dict() for s in self.disagree],
                "earlier": [s.to_dict() for s in self.earlier]}


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
    short_answer: ShortAnswer | None = None
    note: str | None = None  # shown with the answer, e.g. why the extractive fallback answered
    sources: SourceCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``qa ask --json`` and ``POST /api/ask`` (README, "The JSON output")."""
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "mode": self.mode,
            "short_answer": self.short_answer.to_dict() if self.short_answer else None,
            "sources": self.sources.to_dict() if self.sources else None,
            "as_of": self.extra.get("as_of"),
            "note": self.note,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


ABSTAIN_MESSAGE = "I could not find this in the indexed articles."
