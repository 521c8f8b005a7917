"""Hybrid retrieval: dense (FAISS) and lexical (FTS5 BM25) search over chunks and over single
sentences, fused by reciprocal rank fusion, with a preference for the question's dates.

RRF (Cormack, Clarke & Büttcher, SIGIR 2009) needs no score calibration between the retrievers,
which matters here: cosine similarities and BM25 scores live on different scales, and news
questions are often answered by a rare name that only the lexical side catches.

Four rankings are fused into one ranking of chunks: dense and BM25 over chunks, and dense and
BM25 over sentences, each sentence standing for the chunk that holds it most centrally. A chunk
about the topic ranks high on the chunk searches; the one sentence that answers ranks high on the
sentence searches, even inside a chunk that is mostly about something else. The best sentences
themselves are returned too, so that the evidence includes them whatever their chunk's rank.

A story gets one slot: the copies of one wire story (``qa.ingest.copies``) would otherwise fill
the top k with the same text, crowding out a second source. After fusion, the article of a
story's best chunk stands for it (its other chunks stay); the other copies' chunks and sentences
are dropped (``retrieval.one_slot_per_story``).

Dates: nothing published after the question's as-of date is returned (undated articles are);
articles published inside the question's date window ("this week") get a boost, and without a
window, recent articles a milder one. Both are preferences in the fused score, not filters: the
reading of "on Friday" can be wrong, and the answer may be in an older article.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from qa.config import RetrievalSettings
from qa.question.dates import resolve_window, without_dates
from qa.store.protocol import Store
from qa.types import Chunk, DateWindow, Hit, Question

_ENCODER_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-encode")


@dataclass(frozen=True)
class SentenceHit:
    """A sentence found directly, with its fused score and the chunk that holds it."""

    article_id: str
    idx: int
    chunk_id: int
    score: float
    rank: int  # 0 = best


@dataclass(frozen=True)
class Retrieval:
    hits: tuple[Hit, ...]
    sentences: tuple[SentenceHit, ...] = ()


@dataclass(frozen=True)
class DatePreference:
    """What the question's dates ask of retrieval (see the module docstring)."""

    as_of: dt.date | None = None
    window: DateWindow | None = None

    @classmethod
    def of(cls, question: Question | None) -> DatePreference:
        return cls(question.as_of, question.window) if question else cls()

    @classmethod
    def of_text(cls, text: str, as_of: dt.date) -> DatePreference:
        """What ``of(analyze(text, as_of))`` gives, without spaCy's reading of the question."""
        return cls(as_of, resolve_window(text, as_of))

    def filters(self, filters: dict | None) -> dict | None:
        if self.as_of is None:
            return filters
        return {**(filters or {}), "as_of": self.as_of.isoformat()}

    def boost(self, published: str | None, r: RetrievalSettings) -> float:
        """The bonus of an article published on ``published``, in units of a first place."""
        day = parse_date(published)
        if day is None or self.as_of is None:
            return 0.0
        if self.window is not None:
            return r.window_boost if self.window.covers(day, r.window_lag_days) else 0.0
        age = max((self.as_of - day).days, 0)
        return r.recency_boost * 0.5 ** (age / r.recency_half_life_days)


def parse_date(value: str | None) -> dt.date | None:
    """The day of an article's date string ("2025-04-11", "2025-04-11T09:30Z"), else None."""
    if not value or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def rrf_fuse(rankings: list[list[int]], rrf_k: int,
             weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of w / (rrf_k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[n]
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _unique(items: list[int]) -> list[int]:
    return list(dict.fromkeys(items))


def search(
    index: Store,
    text: str,
    query_vector: np.ndarray | Callable[[], np.ndarray],
    settings: RetrievalSettings,
    *,
    k: int | None = None,
    filters: dict | None = None,
    dates: DatePreference | None = None,
) -> Retrieval:
    """The k best chunks for ``text`` and the best sentences (see the module docstring).

    ``query_vector`` may be a callable that waits for it: the lexical searches run first, so
    that they overlap with the encoder (see ``HybridRetriever``).
    """
    dates = dates or DatePreference()
    filters = dates.filters(filters)
    words = without_dates(text, dates.as_of) if dates.as_of else text
    n, rrf_k = settings.candidates, settings.rrf_k
    with index.snapshot() as reader:
        found = reader.searches(words, query_vector, n, filters)
        dense, lexical = found.dense, found.lexical
        dense_s, lexical_s = found.dense_sentences, found.lexical_sentences
        places = reader.sentence_places(_unique(dense_s + lexical_s))
        in_chunks = [[places[s][2] for s in found if s in places] for found in (dense_s, lexical_s)]
        w = settings.sentence_weight
        fused = rrf_fuse([dense, lexical, _unique(in_chunks[0]), _unique(in_chunks[1])], rrf_k,
                         [1.0, 1.0, w, w])
        chunks = reader.chunks([cid for cid, _ in fused])
        # Dates and stories of every candidate in two reads; whole articles only for the k kept.
        ids = list(dict.fromkeys(c.article_id for c in chunks.values()))
        dated_on, slots = reader.article_dates(ids), OneSlot(chunks, reader.stories(ids),
                                                            enabled=settings.one_slot_per_story)
        unit = 1.0 / (rrf_k + 1)  # a first place in one ranking
        dated = [(cid, score + unit * dates.boost(_date_of(chunks, dated_on, cid), settings))
                 for cid, score in fused]
        dated.sort(key=lambda kv: (-kv[1], kv[0]))
        kept = slots.chunks(dated)[: k or settings.k]
        articles = reader.articles_by_id(list(dict.fromkeys(chunks[cid].article_id for cid, _ in kept)))
    hits = _hits(kept, chunks, articles, dense, lexical)
    best = slots.sentences(rrf_fuse([dense_s, lexical_s], rrf_k), places)[: settings.evidence_sentences]
    sentences = tuple(SentenceHit(places[s][0], places[s][1], places[s][2], score, rank)
                      for rank, (s, score) in enumerate(best) if s in places)
    return Retrieval(tuple(hits), sentences)


class OneSlot:
    """One article per story, in ranking order: the first article of a story met stands for it."""

    def __init__(self, chunks: dict[int, Chunk], stories: dict[str, str], *, enabled: bool = True) -> None:
        self.chunk_article = {cid: c.article_id for cid, c in chunks.items()}
        self.story = stories  # article id -> story id
        self.enabled = enabled
        self.chosen: dict[str, str] = {}  # story -> the article that stands for it

    def keeps(self, article_id: str | None) -> bool:
        if not self.enabled or article_id is None:
            return True
        story = self.story.get(article_id, article_id)
        return self.chosen.setdefault(story, article_id) == article_id

    def chunks(self, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        return [(cid, score) for cid, score in ranked if self.keeps(self.chunk_article.get(cid))]

    def sentences(self, ranked: list[tuple[int, float]], places: dict) -> list[tuple[int, float]]:
        return [(sid, score) for sid, score in ranked if sid in places and self.keeps(places[sid][0])]


def _date_of(chunks: dict[int, Chunk], dated_on: dict[str, str | None], cid: int) -> str | None:
    chunk = chunks.get(cid)
    return dated_on.get(chunk.article_id) if chunk else None


def _hits(fused, chunks, articles, dense: list[int], lexical: list[int]) -> list[Hit]:
    dense_rank = {cid: r for r, cid in enumerate(dense, start=1)}
    lexical_rank = {cid: r for r, cid in enumerate(lexical, start=1)}
    hits = []
    for cid, score in fused:
        chunk = chunks.get(cid)
        article = articles.get(chunk.article_id) if chunk else None
        if chunk is None or article is None:
            continue
        hits.append(Hit(chunk=chunk, score=score, title=article.title, date=article.date,
                        source=article.source, url=article.url,
                        dense_rank=dense_rank.get(cid), lexical_rank=lexical_rank.get(cid),
                        story_id=article.story_id or article.id))
    return hits


def hybrid_search(
    index: Store,
    query: str,
    query_vector: np.ndarray | Callable[[], np.ndarray],
    *,
    k: int,
    candidates: int,
    rrf_k: int,
    filters: dict | None = None,
) -> list[Hit]:
    """The k best chunks with default settings otherwise (no dates): ``search(...).hits``."""
    settings = RetrievalSettings(k=k, candidates=candidates, rrf_k=rrf_k)
    return list(search(index, query, query_vector, settings, filters=filters).hits)


def hit_to_document(hit: Hit) -> Document:
    c = hit.chunk
    return Document(
        page_content=c.text,
        id=str(c.id),
        metadata={
            "chunk_id": c.id, "article_id": c.article_id, "title": hit.title, "date": hit.date,
            "source": hit.source, "url": hit.url, "first_sentence": c.first_sentence,
            "last_sentence": c.last_sentence, "score": hit.score, "dense_rank": hit.dense_rank,
            "lexical_rank": hit.lexical_rank, "story_id": hit.story_id,
        },
    )


def document_to_hit(doc: Document) -> Hit:
    m = doc.metadata
    chunk = Chunk(id=m["chunk_id"], article_id=m["article_id"], first_sentence=m["first_sentence"],
                  last_sentence=m["last_sentence"], text=doc.page_content)
    return Hit(chunk=chunk, score=m["score"], title=m["title"], date=m.get("date"),
               source=m.get("source"), url=m.get("url"), dense_rank=m.get("dense_rank"),
               lexical_rank=m.get("lexical_rank"), story_id=m.get("story_id"))


def encode_in_background(embed_query: Callable[[str], np.ndarray], text: str) -> Future[np.ndarray]:
    """The question's vector, computed in a worker thread while this thread does other work
    (parsing the question, the BM25 searches: torch, spaCy and SQLite all release the GIL)."""
    return _ENCODER_POOL.submit(embed_query, text)


def overlapped_search(index: Store, text: str, embed_query: Callable[[str], np.ndarray],
                      settings: RetrievalSettings, **kwargs: Any) -> Retrieval:
    """``search`` with the question encoded in a worker thread while this thread runs the BM25
    searches, which hides the shorter of the two; the reader's snapshot stays in this thread."""
    return search(index, text, encode_in_background(embed_query, text).result, settings, **kwargs)


class HybridRetriever(BaseRetriever):
    """LangChain retriever over an index: ``retriever.invoke("Who chaired the meeting?")``.

    ``k``, ``filters`` and ``question`` (an analysed ``Question``, for its dates) can be set per
    call through ``invoke(query, k=..., filters=..., question=...)``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Store
    embed_query: Callable[[str], np.ndarray]
    k: int = 5
    candidates: int = 50
    rrf_k: int = 60
    filters: dict | None = None
    settings: RetrievalSettings | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        settings = self.settings or RetrievalSettings(k=self.k, candidates=self.candidates,
                                                      rrf_k=self.rrf_k)
        found = overlapped_search(self.index, query, self.embed_query, settings,
                                  k=kwargs.get("k") or self.k,
                                  filters=kwargs.get("filters", self.filters),
                                  dates=DatePreference.of(kwargs.get("question")))
        return [hit_to_document(h) for h in found.hits]
