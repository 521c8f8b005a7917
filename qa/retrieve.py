"""Hybrid retrieval: FAISS (dense) and FTS5 BM25 (lexical), fused by reciprocal rank fusion.

RRF (Cormack, Clarke & Büttcher, SIGIR 2009) needs no score calibration between the two
retrievers, which matters here: cosine similarities and BM25 scores live on different scales,
and news questions are often answered by a rare name that only the lexical side catches.

After fusion, a story gets one slot: the copies of one wire story (``qa.ingest.copies``) would
otherwise fill the top k with the same text, crowding out a second source. The article of a
story's best chunk stands for it (its other chunks stay); the other copies' chunks are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from qa.store.index import Index, Reader
from qa.types import Hit

_ENCODER_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-encode")


def rrf_fuse(rankings: list[list[int]], rrf_k: int) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (rrf_k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def hybrid_search(
    index: Index,
    query: str,
    query_vector: np.ndarray | Callable[[], np.ndarray],
    *,
    k: int,
    candidates: int,
    rrf_k: int,
    filters: dict | None = None,
    one_slot_per_story: bool = True,
) -> list[Hit]:
    """``query_vector`` may be a callable that waits for it: the lexical search runs first, so
    that it overlaps with the encoder (see ``HybridRetriever``)."""
    with index.snapshot() as reader:
        lexical = reader.lexical(query, candidates, filters)
        vector = query_vector() if callable(query_vector) else query_vector
        dense = reader.dense(vector, candidates, filters)
        fused = rrf_fuse([dense, lexical], rrf_k)
        fused, stories = one_slot(reader, fused, k) if one_slot_per_story else (fused[:k], {})
        chunks = reader.chunks([cid for cid, _ in fused])
        articles = {c.article_id: reader.article(c.article_id) for c in chunks.values()}
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
                        story_id=stories.get(chunk.article_id, article.story_id)))
    return hits


def one_slot(reader: Reader, fused: list[tuple[int, float]], k: int
             ) -> tuple[list[tuple[int, float]], dict[str, str]]:
    """The first ``k`` fused chunks once other copies of an already chosen story are dropped,
    and the story of each article seen."""
    article_of = reader.chunk_articles([cid for cid, _ in fused])
    stories = reader.stories(list(dict.fromkeys(article_of.values())))
    chosen: dict[str, str] = {}  # story -> the article that stands for it
    kept = []
    for cid, score in fused:
        article = article_of.get(cid)
        if article is None or chosen.setdefault(stories[article], article) != article:
            continue
        kept.append((cid, score))
        if len(kept) == k:
            break
    return kept, stories


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
    from qa.types import Chunk

    m = doc.metadata
    chunk = Chunk(id=m["chunk_id"], article_id=m["article_id"], first_sentence=m["first_sentence"],
                  last_sentence=m["last_sentence"], text=doc.page_content)
    return Hit(chunk=chunk, score=m["score"], title=m["title"], date=m.get("date"),
               source=m.get("source"), url=m.get("url"), dense_rank=m.get("dense_rank"),
               lexical_rank=m.get("lexical_rank"), story_id=m.get("story_id"))


class HybridRetriever(BaseRetriever):
    """LangChain retriever over an index: ``retriever.invoke("Who chaired the meeting?")``.

    ``k`` and ``filters`` can be set per call through ``invoke(query, k=..., filters=...)``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    embed_query: Callable[[str], np.ndarray]
    k: int = 5
    candidates: int = 50
    rrf_k: int = 60
    filters: dict | None = None
    one_slot_per_story: bool = True

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        # The question is encoded in a worker thread while this thread runs the BM25 search (torch
        # and SQLite both release the GIL), which hides the shorter of the two; the reader's
        # snapshot stays in this thread.
        vector = _ENCODER_POOL.submit(self.embed_query, query)
        hits = hybrid_search(
            self.index, query, vector.result,
            k=kwargs.get("k") or self.k, candidates=self.candidates, rrf_k=self.rrf_k,
            filters=kwargs.get("filters", self.filters), one_slot_per_story=self.one_slot_per_story,
        )
        return [hit_to_document(h) for h in hits]
