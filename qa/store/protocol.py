"""What retrieval, answering and indexing need from storage, and the factory that picks a backend.

Two backends implement it: the embedded one (``qa.store.index``: SQLite + FAISS in one folder,
the default) and PostgreSQL + pgvector (``qa.store.postgres``), chosen by ``store.backend``.
Everything above the store (retrieve, evidence, the chain, the indexer, the CLI and the web app)
talks only to ``Store`` and ``StoreReader``.

A snapshot is a consistent view of one committed state: retrieval and evidence for one question
read from the same snapshot, so an update committed in between can never pair chunks of an old
version of an article with sentences of the new one. Snapshots are re-entrant within a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from qa.parsing import StoredParse
from qa.types import Article, Chunk, Sentence

if TYPE_CHECKING:
    from qa.config import Settings


@dataclass(frozen=True)
class PreparedArticle:
    """An article with everything computed, ready to be written in one go."""

    article: Article
    sentences: Sequence[Sentence]
    sentence_vectors: np.ndarray
    chunks: Sequence[Chunk]
    chunk_vectors: np.ndarray
    # each sentence's parse (``qa.parsing.encode``) and the parser that made them; () when the
    # indexer parsed nothing (the reader then parses at question time)
    parses: Sequence[str] = ()
    parsed_by: str | None = None

    def parses_by(self, parser: str | None) -> Sequence[str | None]:
        """Its sentences' parses to store where the index records ``parser``: None for each when
        another parser (or none) made them."""
        if parser and self.parsed_by == parser and self.parses:
            return self.parses
        return [None] * len(self.sentences)


def parser_of(prepared: Sequence[PreparedArticle]) -> str | None:
    """The parser of the first article that comes with parses (one indexer run uses one): what
    a write records in the index's meta."""
    return next((p.parsed_by for p in prepared if p.parses and p.parsed_by), None)


@dataclass(frozen=True)
class StoredSentence:
    sentence: Sentence
    vector: np.ndarray
    parse: StoredParse | None = None  # None: the index holds no parse of it


@dataclass(frozen=True)
class Searches:
    """The four searches of a question, each as its own ``StoreReader`` method returns it."""

    dense: list[int]
    lexical: list[int]
    dense_sentences: list[int]
    lexical_sentences: list[int]


@runtime_checkable
class StoreReader(Protocol):
    """Reads inside one snapshot. Filters: ``{"source", "date_from", "date_to", "as_of"}`` (ISO
    dates; ``date_to`` includes the whole day; ``as_of`` drops articles dated after it, undated
    ones pass)."""

    def dense(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        """Up to ``n`` chunk ids, nearest to the (normalised) query vector first."""
        ...

    def lexical(self, query: str, n: int, filters: dict | None) -> list[int]:
        """Up to ``n`` chunk ids ranked by full-text relevance to the query's content words."""
        ...

    def dense_sentences(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        """Up to ``n`` sentence ids nearest to the query vector ([] without sentence search)."""
        ...

    def lexical_sentences(self, query: str, n: int, filters: dict | None) -> list[int]:
        """Up to ``n`` sentence ids ranked by full-text relevance ([] without sentence search)."""
        ...

    def searches(self, text: str, query: np.ndarray | Callable[[], np.ndarray], n: int,
                 filters: dict | None) -> Searches:
        """``lexical`` and ``lexical_sentences`` of ``text``, ``dense`` and ``dense_sentences`` of
        ``query`` (a callable waits for the vector: the full-text searches go first, while the
        encoder works). A backend may run them side by side (``sequential_searches``: in turn)."""
        ...

    def sentence_places(self, ids: Sequence[int]) -> dict[int, tuple[str, int, int]]:
        """sentence id -> (article id, sentence index, id of the chunk holding it most centrally)."""
        ...

    def stories(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The story of each article (wire copies share one; an ungrouped article is its own)."""
        ...

    def story_members(self, story_ids: Sequence[str]) -> dict[str, list[str]]:
        """The articles of each story, in indexing order."""
        ...

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]: ...

    def article(self, article_id: str) -> Article | None: ...

    def articles_by_id(self, article_ids: Sequence[str]) -> dict[str, Article]:
        """The stored articles among ``article_ids``, in one read (a missing id is left out)."""
        ...

    def article_dates(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        """The date of each stored article (None: undated), in one read: retrieval weighs the
        dates of every candidate but reads whole articles only for the chunks it keeps."""
        ...

    def sentences(self, article: Article, first: int, last: int) -> list[StoredSentence]:
        """Sentences ``first..last`` (inclusive) of the article, with offsets, vectors and their
        stored parses (with the parser the index records for them)."""
        ...

    def sentence_runs(self, runs: Sequence[tuple[Article, int, int]]) -> list[list[StoredSentence]]:
        """``sentences(article, first, last)`` of each run, in one read (the evidence of a
        question is a dozen runs: over a network, one round trip instead of a dozen)."""
        ...


@runtime_checkable
class Store(Protocol):
    """One index: the articles, their sentences and chunks, and the vectors of both."""

    backend: str

    def snapshot(self) -> AbstractContextManager[StoreReader]: ...

    def write(self, prepared: Sequence[PreparedArticle], remove: Sequence[str] = ()) -> None:
        """Replace/insert ``prepared`` and delete ``remove`` in one atomic step."""
        ...

    def content_hashes(self) -> dict[str, str]:
        """article id -> content hash of every stored article (to skip unchanged ones)."""
        ...

    def meta(self) -> dict[str, str]:
        """What built the index: model, dim, chunk_sentences, chunk_overlap, schema (and parser,
        when sentences' parses are stored)."""
        ...

    def info(self) -> dict: ...

    def articles(self) -> list[dict]:
        """id, title, date and source of every stored article (for listings and filters)."""
        ...

    def group_missing(self) -> int:
        """Group into stories the articles not grouped yet (wire copies); how many were grouped
        (0 where the backend does not group)."""
        ...

    def close(self) -> None: ...


def sequential_searches(reader: StoreReader, text: str, query: np.ndarray | Callable[[], np.ndarray],
                        n: int, filters: dict | None) -> Searches:
    """``StoreReader.searches`` one after the other: full text first, then (vector ready) dense."""
    lexical = reader.lexical(text, n, filters)
    lexical_sentences = reader.lexical_sentences(text, n, filters)
    vector = query() if callable(query) else query
    return Searches(reader.dense(vector, n, filters), lexical,
                    reader.dense_sentences(vector, n, filters), lexical_sentences)


def open_store(settings: Settings, model: str | None = None) -> Store:
    """Open an existing index for reading; a clear error if there is none, or if it was built
    with another embedding model than ``model`` (default: the settings' model)."""
    if settings.store.backend == "postgres":
        from qa.store.postgres import PostgresStore

        return PostgresStore.open(settings, model)
    from qa.store.index import Index

    return Index.open(settings, model)


def open_store_for_writing(settings: Settings, model: str, dim: int, *, variant: str = "fp32") -> Store:
    """Open or create an index whose vectors come from ``model`` (``dim`` dimensions) run as
    ``variant`` (recorded, see ``qa.embeddings``)."""
    if settings.store.backend == "postgres":
        from qa.store.postgres import PostgresStore

        return PostgresStore.open_for_writing(settings, model, dim, variant=variant)
    from qa.store.index import Index

    return Index.open_for_writing(settings, model, dim, variant=variant)


def describe(settings: Settings) -> str:
    """Where the index lives, for messages: a folder or a database schema."""
    if settings.store.backend == "postgres":
        from qa.store.postgres import redacted_dsn

        return f"PostgreSQL {redacted_dsn(settings.store.dsn)} schema {settings.store.schema_name}"
    return f"{settings.index.dir}/"
