"""From files to a committed index: read, clean, split, chunk, embed, write.

Work is committed in batches of ``index.commit_every`` articles, so an interrupted run keeps what
it committed and a re-run only does the rest: articles whose content hash is already stored are
skipped. Each sentence is encoded once, in length-sorted batches (padding is the encoder's main
waste); a chunk's vector is the normalised mean of its sentences' vectors, which costs nothing and
keeps one encoder pass over the text.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embeddings import Embedder, make_embedder
from qa.errors import InputError, QAError
from qa.ingest.chunking import article_sentences, make_chunks
from qa.ingest.readers import iter_files, read_articles
from qa.parsing import IdentifiedParser, SpacyParser, encode
from qa.store import sqlite as store
from qa.store.index import recover_interrupted_swap
from qa.store.protocol import PreparedArticle, describe, open_store, open_store_for_writing
from qa.testhooks import pause_at
from qa.types import Article

ENCODE_SLICE = 256  # sentences per encoder call, so progress moves smoothly


@dataclass
class Progress:
    articles: int = 0
    articles_total: int = 0
    sentences: int = 0
    chunks: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


ProgressCallback = Callable[[Progress], None]


@dataclass
class IndexReport:
    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sentences: int = 0
    chunks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.sentences / self.seconds if self.seconds else 0.0
        return (
            f"indexed {len(self.indexed)} articles ({self.sentences} sentences, {self.chunks} chunks)"
            f" in {self.seconds:.1f}s ({rate:.0f} sentences/s); {len(self.unchanged)} unchanged,"
            f" {len(self.duplicates)} duplicates skipped, {len(self.errors)} files with errors"
        )


def index_paths(
    paths: Sequence[Path],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
    rebuild: bool = False,
    parser: IdentifiedParser | None = None,
) -> IndexReport:
    """Index files and folders into ``settings.index.dir`` (``parser``: see ``prepare_articles``)."""
    report = IndexReport()
    articles = list(_read_all(paths, settings, report))
    if rebuild:
        return _rebuild(articles, settings, embedder, progress, report, parser)
    return index_articles(articles, settings, embedder=embedder, progress=progress, report=report,
                          parser=parser)


def index_articles(
    articles: Iterable[Article],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
    report: IndexReport | None = None,
    parser: IdentifiedParser | None = None,
) -> IndexReport:
    """Index already-read articles (the UI's paste box and the eval runner use this)."""
    report = report or IndexReport()
    started = time.perf_counter()
    todo = select_new(list(articles), settings, report)
    if not todo:
        _group_missing(settings)
    if todo:
        embedder = embedder or make_embedder(settings.embedding)
        index = open_store_for_writing(settings, embedder.name, embedder.dim, variant=embedder.variant)
        index.group_missing()  # an older index first catches up, so new articles join its stories
        state = Progress(articles_total=len(todo))
        try:
            for batch in _batches(todo, settings.index.commit_every):
                prepared = prepare_articles(batch, settings, embedder, state, progress, parser)
                index.write(prepared)
                record_written(report, prepared)
                state.articles += len(batch)
                if progress:
                    progress(state)
        finally:
            index.close()
    report.seconds = time.perf_counter() - started
    return report


def record_written(report: IndexReport, prepared: Sequence) -> None:
    for item in prepared:
        report.indexed.append(item.article.id)
        report.sentences += len(item.sentences)
        report.chunks += len(item.chunks)


def _group_missing(settings: Settings) -> None:
    """Group an existing index's ungrouped articles even when nothing new is indexed."""
    with contextlib.suppress(QAError):
        index = open_store(settings)
        try:
            index.group_missing()
        finally:
            index.close()


def remove_articles(ids: Sequence[str], settings: Settings) -> list[str]:
    """Delete articles (rows and vectors) by id; unknown ids are an error, nothing is removed."""
    index = open_store(settings)
    try:
        known = index.content_hashes()
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(f"no article with id {unknown[0]!r} in {describe(settings)} "
                             "(see: qa info --articles)")
        index.write([], remove=list(ids))
    finally:
        index.close()
    return list(ids)


# ------------------------------------------------------------------ steps


def _read_all(paths: Sequence[Path], settings: Settings, report: IndexReport) -> Iterator[Article]:
    for path in iter_files(paths):
        articles, errors = read_file(path, settings)
        report.errors.extend(errors)
        yield from articles


def read_file(path: Path, settings: Settings) -> tuple[list[Article], list[str]]:
    """The articles of one file (read and cleaned), and its problems as one line each; the
    articles read before a problem are kept."""
    articles: list[Article] = []
    errors: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for article in read_articles(path, settings.index.max_file_mb, settings.index.max_article_chars):
                articles.append(article)
        except (InputError, OSError) as exc:
            errors.append(str(exc) if isinstance(exc, QAError) else f"{path}: {exc}")
    errors.extend(str(w.message) for w in caught)
    return articles, errors


def stored_hashes(settings: Settings) -> dict[str, str]:
    """article id -> content hash of what the index holds ({} when there is no index yet)."""
    try:
        index = open_store(settings)
    except QAError:
        return {}
    try:
        return index.content_hashes()
    finally:
        index.close()


def select_new(articles: list[Article], settings: Settings, report: IndexReport) -> list[Article]:
    """Drop articles already stored unchanged, and repeats of the same text under another id."""
    stored = stored_hashes(settings)
    by_hash = {h: i for i, h in stored.items()}
    chosen: dict[str, Article] = {}
    for article in articles:
        digest = store.content_hash(article)
        if stored.get(article.id) == digest:
            report.unchanged.append(article.id)
        elif by_hash.get(digest, article.id) != article.id:
            report.duplicates.append(f"{article.id} (same text as {by_hash[digest]})")
        else:
            chosen[article.id] = article  # a later copy of the same id wins
            by_hash[digest] = article.id
    return list(chosen.values())


def _batches(items: list[Article], size: int) -> Iterator[list[Article]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Pending:
    article: Article
    sentences: list
    chunks: list
    sentence_vectors: np.ndarray | None = None
    parses: list[str] = field(default_factory=list)
    parsed_by: str | None = None

    def finish(self) -> PreparedArticle:
        assert self.sentence_vectors is not None
        return PreparedArticle(self.article, self.sentences, self.sentence_vectors, self.chunks,
                               chunk_vectors(self.chunks, self.sentence_vectors), self.parses,
                               self.parsed_by)


def prepare_articles(articles: Sequence[Article], settings: Settings, embedder: Embedder,
                     state: Progress | None = None, progress: ProgressCallback | None = None,
                     parser: IdentifiedParser | None = None) -> list[PreparedArticle]:
    """Split, chunk, embed and (``index.store_parses``) parse articles: everything a store needs
    to write them. ``parser`` defaults to the extractive reader's spaCy pipeline."""
    pending = [_prepare(a, settings) for a in articles]
    _embed(pending, embedder, state or Progress(), progress)
    if settings.index.store_parses:
        _parse(pending, parser or SpacyParser(settings.answer.spacy_model))
    return [p.finish() for p in pending]


def _parse(pending: list[_Pending], parser: IdentifiedParser) -> None:
    """Parse every sentence of the batch in one pipe (spaCy's batches are faster); the parse of
    a sentence does not depend on the others of its batch."""
    texts = [s.text for p in pending for s in p.sentences]
    records = [encode(parse) for parse in parser(texts)]
    identity = parser.identity
    offset = 0
    for p in pending:
        p.parses, p.parsed_by = records[offset: offset + len(p.sentences)], identity
        offset += len(p.sentences)


def _prepare(article: Article, settings: Settings) -> _Pending:
    sentences = article_sentences(article)
    chunks = make_chunks(article, sentences, settings.chunking.sentences, settings.chunking.overlap)
    return _Pending(article, sentences, chunks)


def _embed(pending: list[_Pending], embedder: Embedder, state: Progress,
           progress: ProgressCallback | None) -> None:
    """Encode every sentence of the batch once, longest first, in slices."""
    texts = [s.text for p in pending for s in p.sentences]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for start in range(0, len(order), ENCODE_SLICE):
        rows = order[start : start + ENCODE_SLICE]
        vectors[rows] = embedder.encode([texts[i] for i in rows])
        pause_at("embed")
        state.sentences += len(rows)
        if progress:
            progress(state)
    offset = 0
    for p in pending:
        p.sentence_vectors = vectors[offset : offset + len(p.sentences)]
        offset += len(p.sentences)
        state.chunks += len(p.chunks)


def chunk_vectors(chunks: Sequence, sentence_vectors: np.ndarray) -> np.ndarray:
    """The normalised mean of each chunk's sentence vectors."""
    out = np.zeros((len(chunks), sentence_vectors.shape[1]), dtype=np.float32)
    for row, chunk in enumerate(chunks):
        mean = sentence_vectors[chunk.first_sentence : chunk.last_sentence + 1].mean(axis=0)
        norm = np.linalg.norm(mean)
        out[row] = mean / norm if norm else mean
    return out


def _rebuild(articles, settings, embedder, progress, report, parser) -> IndexReport:
    """Build into a sibling folder, then swap: the old index stays usable until the swap."""
    if settings.store.backend == "postgres":
        from qa.store.postgres import rebuild_schema

        with rebuild_schema(settings) as staged:
            return index_articles(articles, staged, embedder=embedder, progress=progress, report=report,
                                  parser=parser)
    target = Path(settings.index.dir)
    recover_interrupted_swap(target)
    fresh = target.with_name(target.name + ".rebuild")
    shutil.rmtree(fresh, ignore_errors=True)
    staged = settings.model_copy(deep=True)
    staged.index.dir = fresh
    index_articles(articles, staged, embedder=embedder, progress=progress, report=report,
                   parser=parser)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    pause_at("swap")
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return report
