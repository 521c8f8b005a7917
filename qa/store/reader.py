"""What a snapshot of the embedded index offers: searches and reads inside one read transaction
(see ``qa.store.index.Index.snapshot``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.store import protocol, stories
from qa.store import sqlite as store
from qa.store.vectors import VectorIndex
from qa.types import Article, Chunk


@dataclass
class Reader:
    """What a snapshot offers: the connection (inside its read transaction) and the vectors.

    Filters: ``source``, ``date_from``, ``date_to`` (ISO dates) and ``as_of`` (ISO date: nothing
    from an article dated after it; undated articles pass).
    """

    con: sqlite3.Connection
    vectors: VectorIndex
    sentence_vectors: VectorIndex | None = None  # None: the index has no sentence search
    lexical_rows: int = 1000  # most rows one full-text query ranks (store.lexical_rows)
    parser: str | None = None  # what parsed the stored sentences (meta), None: no parses stored

    def dense(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        return self._dense(self.vectors, query, n, filters, store.filtered_chunk_ids,
                           store.dated_after)

    def lexical(self, query: str, n: int, filters: dict | None) -> list[int]:
        return store.lexical_search(self.con, query, n, filters, self.lexical_rows)

    def dense_sentences(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        """Sentence ids nearest to the query vector ([] when the index has no sentence search)."""
        if self.sentence_vectors is None:
            return []
        return self._dense(self.sentence_vectors, query, n, filters, store.filtered_sentence_ids,
                           store.sentences_dated_after)

    def lexical_sentences(self, query: str, n: int, filters: dict | None) -> list[int]:
        """Sentence ids ranked by BM25 ([] when the index has no sentence search)."""
        if self.sentence_vectors is None:
            return []
        return store.lexical_search(self.con, query, n, filters, self.lexical_rows, "sentences")

    def searches(self, text: str, query: np.ndarray | Callable[[], np.ndarray], n: int,
                 filters: dict | None) -> protocol.Searches:
        return protocol.sequential_searches(self, text, query, n, filters)

    def sentence_places(self, ids: Sequence[int]) -> dict[int, tuple[str, int, int]]:
        """sentence id -> (article id, sentence index, id of the chunk holding it)."""
        return store.sentence_places(self.con, ids)

    def _dense(self, vectors: VectorIndex, query, n, filters, allowed_ids, dated_after) -> list[int]:
        """Filters narrow the search up front, except ``as_of`` alone: almost nothing is dated
        after the day a question is asked, so the results are checked afterwards and the search
        repeated with the filter only when something had to be dropped (a filtered search scans
        every row's date)."""
        filters = filters or {}
        if not filters.get("as_of") or any(v for k, v in filters.items() if k != "as_of"):
            return [i for i, _ in vectors.search(query, n, allowed_ids(self.con, filters or None))]
        found = [i for i, _ in vectors.search(query, n)]
        if not dated_after(self.con, found, filters["as_of"]):
            return found
        return [i for i, _ in vectors.search(query, n, allowed_ids(self.con, filters))]

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        return store.get_chunks(self.con, ids)

    def article(self, article_id: str) -> Article | None:
        return store.get_article(self.con, article_id)

    def articles_by_id(self, article_ids: Sequence[str]) -> dict[str, Article]:
        # SQLite runs in this process: a read per article costs no round trip
        found = {aid: store.get_article(self.con, aid) for aid in dict.fromkeys(article_ids)}
        return {aid: article for aid, article in found.items() if article is not None}

    def article_dates(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        return store.article_dates(self.con, article_ids)

    def sentences(self, article: Article, first: int, last: int) -> list[store.StoredSentence]:
        return store.get_sentences(self.con, article, first, last, self.parser)

    def sentence_runs(self, runs: Sequence[tuple[Article, int, int]]) -> list[list[store.StoredSentence]]:
        return [store.get_sentences(self.con, article, first, last, self.parser)
                for article, first, last in runs]

    def stories(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The story of each article (wire copies share one; an ungrouped article is its own)."""
        return stories.stories_of(self.con, article_ids)

    def story_members(self, story_ids: Sequence[str]) -> dict[str, list[str]]:
        """The articles of each story, in indexing order."""
        return stories.story_members(self.con, story_ids)
