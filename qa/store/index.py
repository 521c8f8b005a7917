"""An index directory: the SQLite store plus the FAISS file it names.

Writes are one SQLite transaction that also switches the FAISS file: the new vectors are written
to a new file ``vectors.<generation>.faiss`` (temp + fsync + rename), and the row naming it is
committed together with the article rows. A crash before the commit leaves the previous
generation in force (the orphan file is removed by the next writer); after it, the new one.
Readers run inside a read transaction (a WAL snapshot) and use the FAISS generation that snapshot
names, so they see the old index or the new one, never half of each. A snapshot is re-entrant
within a thread, so that one question's retrieval and evidence come from the same snapshot.

Sentences get the same treatment (``index.sentence_search``): a second file,
``sentences.<generation>.faiss``, over the stored sentence vectors, and an FTS5 table of sentences,
switched in by the same commit; so retrieval can find the best sentences directly, beside chunks.

The FAISS file's size and CRC-32 are committed with its name and checked before FAISS reads it
(see ``vectors``). SQLite corruption found while reading becomes an IndexStateError naming the
database and the command that rebuilds it, never a traceback from deep inside a query.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.errors import IndexStateError, ModelMismatchError
from qa.store import sqlite as store
from qa.store import stories
from qa.store.protocol import PreparedArticle, parser_of
from qa.store.reader import Reader
from qa.store.vectors import FileStamp, VectorIndex
from qa.testhooks import pause_at

DB_NAME = "qa.sqlite"
CHUNKS, SENTENCES = "", "sentence_"  # the meta key prefixes of the two vector files
_FILE_STEM = {CHUNKS: "vectors", SENTENCES: "sentences"}


class Index:
    """The embedded store (``Store`` protocol): SQLite + FAISS in one folder."""

    backend = "sqlite"

    def __init__(self, directory: Path, settings: Settings) -> None:
        self.dir = directory
        self.settings = settings
        self._local = threading.local()
        self._vectors: dict[str, tuple[str, VectorIndex]] = {}  # prefix -> (file, index)
        self._vectors_lock = threading.Lock()
        self._writer_variant: str | None = None

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, settings: Settings, model: str | None = None) -> Index:
        """Open an existing index for reading; a clear error if there is none, or if it was
        built with another embedding model than ``model`` (default: the settings' model)."""
        directory = Path(settings.index.dir)
        recover_interrupted_swap(directory)
        if not (directory / DB_NAME).is_file():
            raise IndexStateError(
                f"no index in {directory}/; build one with: qa index PATH --index-dir {directory}"
            )
        index = cls(directory, settings)
        index._check_readable(model or settings.embedding.model)
        return index

    @classmethod
    def open_for_writing(cls, settings: Settings, model: str, dim: int, *, variant: str) -> Index:
        """Open or create an index whose vectors come from ``model`` run as ``variant``.

        Another variant of the same model may add to an index written by one (and questions may
        be encoded by any): each variant's vectors are within cosine 0.99 of fp32's, so they
        share one space. The variants that wrote are recorded (``encoder_variant``), not checked.
        """
        directory = Path(settings.index.dir)
        recover_interrupted_swap(directory)
        directory.mkdir(parents=True, exist_ok=True)
        index = cls(directory, settings)
        index._writer_variant = variant
        con = index._con(create=True)
        meta = store.get_meta(con)
        wanted = index._build_meta(model, dim)
        if not meta.get("model"):
            store.set_meta(con, {**wanted, "generation": "0", "faiss_file": "", **stories.fresh_meta()})
        else:
            index._check_same_build(meta, wanted)
        return index

    def _build_meta(self, model: str, dim: int) -> dict[str, str]:
        c = self.settings.chunking
        return {"schema": store.SCHEMA_VERSION, "model": model, "dim": str(dim),
                "chunk_sentences": str(c.sentences), "chunk_overlap": str(c.overlap)}

    def _check_same_build(self, meta: dict[str, str], wanted: dict[str, str]) -> None:
        for key in ("schema", "model", "dim", "chunk_sentences", "chunk_overlap"):
            if meta.get(key) != wanted[key]:
                raise ModelMismatchError(
                    f"{self.dir}/ was built with {key}={meta.get(key)!r} but the settings ask for "
                    f"{wanted[key]!r}; rebuild with: qa index PATH --rebuild --index-dir {self.dir} "
                    f"(or use the index's settings)"
                )

    def _check_readable(self, model: str) -> None:
        meta = self.meta()
        if not meta.get("model"):
            raise IndexStateError(f"{self.dir}/ holds no indexed articles yet; run: qa index PATH")
        if meta["model"] != model:
            raise ModelMismatchError(
                f"{self.dir}/ was built with embedding model {meta['model']!r} ({meta['dim']} dims) "
                f"but the settings ask for {model!r}; rebuild with: "
                f"qa index PATH --rebuild --index-dir {self.dir}, or set "
                f"QA_EMBEDDING__MODEL={meta['model']}"
            )

    def _con(self, create: bool = False) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                con = store.connect(self.dir / DB_NAME, create=create)
                con.execute("SELECT count(*) FROM meta").fetchone()
            except sqlite3.DatabaseError as exc:
                raise IndexStateError(
                    f"{self.dir / DB_NAME}: not a readable index database ({exc}); rebuild with: "
                    f"qa index PATH --rebuild --index-dir {self.dir}"
                ) from None
            self._local.con = con
        return con

    def meta(self) -> dict[str, str]:
        with self._database_errors():
            return store.get_meta(self._con())

    @contextmanager
    def _database_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
                raise self._database_error(exc) from None
            raise

    @property
    def dim(self) -> int:
        return int(self.meta()["dim"])

    # ------------------------------------------------------------ reading

    @contextmanager
    def snapshot(self) -> Iterator[Reader]:
        """A consistent view: rows and vectors of one committed generation.

        Nested calls in the same thread share the outer snapshot.
        """
        current = getattr(self._local, "reader", None)
        if current is not None:
            yield current
            return
        con = self._con()
        missing: str | None = None
        for _attempt in range(5):
            try:
                con.execute("BEGIN")
                meta = store.get_meta(con)
                vectors = self._vectors_for(meta)
                sentence_vectors = self._vectors_for(meta, SENTENCES) if _has_sentences(meta) else None
            except FileNotFoundError as exc:
                _rollback(con)
                name = Path(exc.filename or "").name
                if name == missing:  # the committed file itself is gone, not just replaced
                    raise IndexStateError(
                        f"{self.dir / name}: vector file is missing; rebuild it with: "
                        f"qa index --rebuild-vectors --index-dir {self.dir}") from None
                missing = name  # a writer replaced the file since; take a new snapshot
                continue
            except BaseException as exc:
                _rollback(con)
                if isinstance(exc, sqlite3.DatabaseError) and _is_damage(exc):
                    raise self._database_error(exc) from None
                raise
            self._local.reader = Reader(con, vectors, sentence_vectors, self.settings.store.lexical_rows,
                                        meta.get("parser") or None)
            try:
                with self._database_errors():
                    yield self._local.reader
            finally:
                self._local.reader = None
                _rollback(con)
            return
        raise IndexStateError(f"{self.dir}/: vector file kept changing under the reader; try again")

    def _database_error(self, exc: sqlite3.DatabaseError) -> IndexStateError:
        return IndexStateError(
            f"{self.dir / DB_NAME}: the index database is damaged ({exc}); rebuild with: "
            f"qa index PATH --rebuild --index-dir {self.dir}")

    def _vectors_for(self, meta: dict[str, str], prefix: str = CHUNKS) -> VectorIndex:
        name = meta.get(prefix + "faiss_file", "")
        with self._vectors_lock:
            cached = self._vectors.get(prefix)
            if cached is not None and cached[0] == name:
                return cached[1]
            dim = int(meta["dim"])
            if not name:
                vectors = VectorIndex.empty(dim)
            else:
                vectors = VectorIndex.load(self.dir / name, dim, _stamp(meta, prefix))
            self._vectors[prefix] = (name, vectors)
            return vectors

    def info(self) -> dict:
        meta = self.meta()
        with self.snapshot() as reader:
            counts = {**store.counts(reader.con), **stories.story_counts(reader.con)}
            vector_count = reader.vectors.size
            approximate = reader.vectors.is_approximate
            sentence_vectors = reader.sentence_vectors.size if reader.sentence_vectors else 0
        size = sum(p.stat().st_size for p in self.dir.iterdir() if p.is_file())
        return {
            "index_dir": str(self.dir),
            **counts,
            "vectors": vector_count,
            "sentence_vectors": sentence_vectors,
            "vector_index": "HNSW (approximate)" if approximate else "flat (exact)",
            "embedding_model": meta.get("model"),
            "encoder_variant": meta.get("encoder_variant") or "fp32",  # fp32 before it was recorded
            "dimensions": int(meta.get("dim", 0)),
            "chunk_sentences": int(meta.get("chunk_sentences", 0)),
            "chunk_overlap": int(meta.get("chunk_overlap", 0)),
            "size_bytes": size,
        }

    def chunk_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, their stored vectors) from one snapshot (benchmarks and checks)."""
        with self.snapshot() as reader:
            return store.all_chunk_vectors(reader.con, self.dim)

    def articles(self) -> list[dict]:
        """id, title, date, source and story of every stored article (for listings and filters)."""
        with self.snapshot() as reader:
            rows = store.list_articles(reader.con)
            story = stories.stories_of(reader.con, [row[0] for row in rows])
        keys = ("id", "title", "date", "source")
        return [{**dict(zip(keys, row, strict=True)), "story": story[row[0]]} for row in rows]

    def stories(self) -> dict[str, list[str]]:
        """Every story with more than one article: story id -> member ids, in indexing order."""
        with self.snapshot() as reader:
            return stories.grouped(reader.con)

    def group_missing(self) -> int:
        """Group the articles that have no story yet (an index written before grouping existed,
        or with ``index.group_copies`` off, or by an older signature version); returns how many.
        A no-op when grouping is off."""
        if not self.settings.index.group_copies:
            return 0
        con = self._con()
        store.create_tables(con)  # an index written before grouping existed has no copies tables
        con.execute("BEGIN IMMEDIATE")
        try:
            count = stories.group_missing(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return count

    # ------------------------------------------------------------ writing

    def write(self, prepared: Sequence[PreparedArticle], remove: Sequence[str] = ()) -> None:
        """Replace/insert ``prepared`` and delete ``remove`` in one atomic step."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")  # one writer at a time
        new_files: list[Path] = []
        try:
            meta = store.get_meta(con)
            self._remove_orphans(meta)
            sentences = self._sentence_switch(con, meta)
            chunk_delta, sentence_delta = _Delta(), _Delta()
            grouping = stories.WriteStories(con, self.settings.index.group_copies)
            parser = parser_of(prepared)
            if parser:
                store.record_parser(con, meta, parser)
            for article_id in remove:
                grouping.leaving(article_id)
                sentence_delta.removed += store.unindex_sentences(con, article_id)
                chunk_delta.removed += store.delete_article(con, article_id)
            for item in prepared:
                grouping.leaving(item.article.id)
                sentence_delta.removed += store.unindex_sentences(con, item.article.id)
                chunk_delta.removed += store.delete_article(con, item.article.id)
                chunk_delta.add(store.insert_article(
                    con, item.article, item.sentences, item.sentence_vectors,
                    item.chunks, item.chunk_vectors,
                    item.parses_by(parser),
                ), item.chunk_vectors)
                if sentences != "off":
                    sentence_delta.add(store.index_sentences(con, item.article, item.sentences),
                                       item.sentence_vectors)
                grouping.joining(item.article)
            grouping.regroup()
            generation = int(meta.get("generation", "0")) + 1
            updates = self._save(con, meta, CHUNKS, generation, chunk_delta, new_files)
            if sentences != "off":
                updates |= self._save(con, meta, SENTENCES, generation, sentence_delta, new_files,
                                      rebuild=sentences == "fill")
            store.set_meta(con, updates | self._variant_meta(meta, bool(prepared)))
            pause_at("commit")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            for path in new_files:
                path.unlink(missing_ok=True)
            raise
        for prefix in (CHUNKS, SENTENCES):
            old = meta.get(prefix + "faiss_file")
            if old:
                (self.dir / old).unlink(missing_ok=True)

    def _sentence_switch(self, con: sqlite3.Connection, meta: dict[str, str]) -> str:
        """"on" (kept up to date), "fill" (switched on now: index every stored sentence) or
        "off" (switched off: forget the sentence index)."""
        if not self.settings.index.sentence_search:
            if meta.get("sentence_search") == "on":
                con.execute("DELETE FROM sentences_fts")
                con.execute("DELETE FROM sentence_ids")
            store.set_meta(con, {"sentence_search": "off", "sentence_faiss_file": ""})
            return "off"
        if meta.get("sentence_search") == "on":
            return "on"
        store.index_all_sentences(con)
        store.set_meta(con, {"sentence_search": "on"})
        return "fill"

    def _save(self, con, meta, prefix: str, generation: int, delta: _Delta, new_files: list[Path],
              rebuild: bool = False) -> dict[str, str]:
        """Write the next vector file of one kind; return the meta rows that name it."""
        vectors = self._next_vectors(con, meta, prefix, delta, rebuild)
        path = self.dir / f"{_FILE_STEM[prefix]}.{generation:06d}.faiss"
        new_files.append(path)
        return _file_meta(generation, path, vectors.save(path), prefix)

    def _next_vectors(self, con, meta, prefix: str, delta: _Delta, rebuild: bool) -> VectorIndex:
        dim = int(meta["dim"])
        kind = "chunks" if prefix == CHUNKS else "sentence_ids"
        total = store.count_rows(con, kind)
        current = (self._vectors_for(meta, prefix) if meta.get(prefix + "faiss_file")
                   else VectorIndex.empty(dim))
        grows_past_threshold = total > self.settings.index.approximate_above and not current.is_approximate
        if rebuild or (delta.removed and current.is_approximate) or grows_past_threshold:
            return self._build(con, prefix, dim)  # HNSW cannot delete: rebuild
        updated = current.copy()
        updated.remove(np.asarray(delta.removed, dtype=np.int64))
        if delta.ids:
            updated.add(np.asarray(delta.ids, dtype=np.int64), np.vstack(delta.vectors))
        return updated

    def _build(self, con: sqlite3.Connection, prefix: str, dim: int) -> VectorIndex:
        load = store.all_chunk_vectors if prefix == CHUNKS else store.all_sentence_vectors
        ids, vectors = load(con, dim)
        return VectorIndex.build(ids, vectors, dim, self.settings.index.approximate_above)

    def _variant_meta(self, meta: dict[str, str], adds: bool) -> dict[str, str]:
        """The recorded variants, with this writer's added when it adds vectors."""
        recorded = [v for v in meta.get("encoder_variant", "").split(",") if v]
        if not adds or self._writer_variant is None or self._writer_variant in recorded:
            return {}
        if not recorded and meta.get(CHUNKS + "faiss_file"):
            recorded = ["fp32"]  # vectors written before variants were recorded
        return {"encoder_variant": ",".join([*recorded, self._writer_variant])}

    def rebuild_vectors(self) -> int:
        """Rebuild the FAISS files from the vectors stored in SQLite (after corruption); switches
        sentence search on or off as the settings say."""
        con = self._con()
        store.create_tables(con)  # an index from before sentence search gains its tables
        con.execute("BEGIN IMMEDIATE")
        new_files: list[Path] = []
        try:
            meta = store.get_meta(con)
            dim = int(meta["dim"])
            generation = int(meta.get("generation", "0")) + 1
            rebuilt = self._build(con, CHUNKS, dim)
            path = self.dir / f"vectors.{generation:06d}.faiss"
            new_files.append(path)
            updates = _file_meta(generation, path, rebuilt.save(path))
            if self._sentence_switch(con, meta) != "off":
                updates |= self._save(con, meta, SENTENCES, generation, _Delta(), new_files,
                                      rebuild=True)
            store.set_meta(con, updates)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            for new in new_files:
                new.unlink(missing_ok=True)
            raise
        self._remove_orphans(store.get_meta(con))
        return rebuilt.size

    def _remove_orphans(self, meta: dict[str, str]) -> None:
        """Vector files left by an interrupted writer. Called only while holding the write lock."""
        current = {meta.get(prefix + "faiss_file") for prefix in (CHUNKS, SENTENCES)}
        for stem in _FILE_STEM.values():
            for path in self.dir.glob(f"{stem}.*.faiss*"):
                if path.name not in current:
                    path.unlink(missing_ok=True)

    def content_hashes(self) -> dict[str, str]:
        with self._database_errors():
            return store.article_hashes(self._con())

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None


@dataclass
class _Delta:
    """What one write changes in one vector file."""

    removed: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        self.ids += ids
        if ids:
            self.vectors.append(vectors)


def _file_meta(generation: int, path: Path, stamp: FileStamp, prefix: str = CHUNKS) -> dict[str, str]:
    return {"generation": str(generation), prefix + "faiss_file": path.name,
            prefix + "faiss_bytes": str(stamp.size), prefix + "faiss_crc32": str(stamp.crc32)}


def _stamp(meta: dict[str, str], prefix: str = CHUNKS) -> FileStamp | None:
    """The recorded size and checksum (indexes written before they were recorded have none)."""
    if not meta.get(prefix + "faiss_bytes") or not meta.get(prefix + "faiss_crc32"):
        return None
    return FileStamp(int(meta[prefix + "faiss_bytes"]), int(meta[prefix + "faiss_crc32"]))


def _has_sentences(meta: dict[str, str]) -> bool:
    return meta.get("sentence_search") == "on" and bool(meta.get("sentence_faiss_file"))


def _rollback(con: sqlite3.Connection) -> None:
    if con.in_transaction:
        con.execute("ROLLBACK")


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Corruption (SQLITE_CORRUPT, SQLITE_NOTADB), as opposed to a busy or locked database."""
    return not isinstance(exc, sqlite3.OperationalError) or "no such" in str(exc)


def recover_interrupted_swap(directory: Path) -> None:
    """``qa index --rebuild`` moves the old index to ``<dir>.old`` and the new one in. If it was
    killed between the two moves, put the old index back: it is complete, and the new one is
    rebuilt by running the command again."""
    old = directory.with_name(directory.name + ".old")
    if not (directory / DB_NAME).is_file() and (old / DB_NAME).is_file():
        try:
            if directory.exists() and not any(directory.iterdir()):
                directory.rmdir()
            old.rename(directory)
        except OSError:
            pass  # another process recovered it first, or the folder is in use: leave it
