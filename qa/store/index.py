"""An index directory: the SQLite store plus the FAISS file it names.

Writes are one SQLite transaction that also switches the FAISS file: the new vectors are written
to a new file ``vectors.<generation>.faiss`` (temp + fsync + rename), and the row naming it is
committed together with the article rows. A crash before the commit leaves the previous
generation in force (the orphan file is removed by the next writer); after it, the new one.
Readers run inside a read transaction (a WAL snapshot) and use the FAISS generation that snapshot
names, so they see the old index or the new one, never half of each. A snapshot is re-entrant
within a thread, so that one question's retrieval and evidence come from the same snapshot.

The FAISS file's size and CRC-32 are committed with its name and checked before FAISS reads it
(see ``vectors``). SQLite corruption found while reading becomes an IndexStateError naming the
database and the command that rebuilds it, never a traceback from deep inside a query.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.errors import IndexStateError, ModelMismatchError
from qa.store import sqlite as store
from qa.store.vectors import FileStamp, VectorIndex
from qa.testhooks import pause_at
from qa.types import Article, Chunk, Sentence

DB_NAME = "qa.sqlite"


@dataclass(frozen=True)
class PreparedArticle:
    """An article with everything computed, ready to be written in one go."""

    article: Article
    sentences: Sequence[Sentence]
    sentence_vectors: np.ndarray
    chunks: Sequence[Chunk]
    chunk_vectors: np.ndarray


class Index:
    def __init__(self, directory: Path, settings: Settings) -> None:
        self.dir = directory
        self.settings = settings
        self._local = threading.local()
        self._vectors: tuple[str, VectorIndex] | None = None
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
            store.set_meta(con, {**wanted, "generation": "0", "faiss_file": ""})
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
            except FileNotFoundError:
                _rollback(con)
                name = meta.get("faiss_file", "")
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
            self._local.reader = Reader(con, vectors)
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

    def _vectors_for(self, meta: dict[str, str]) -> VectorIndex:
        name = meta.get("faiss_file", "")
        with self._vectors_lock:
            if self._vectors is not None and self._vectors[0] == name:
                return self._vectors[1]
            dim = int(meta["dim"])
            if not name:
                vectors = VectorIndex.empty(dim)
            else:
                vectors = VectorIndex.load(self.dir / name, dim, _stamp(meta))
            self._vectors = (name, vectors)
            return vectors

    def info(self) -> dict:
        meta = self.meta()
        with self.snapshot() as reader:
            counts = store.counts(reader.con)
            vector_count = reader.vectors.size
            approximate = reader.vectors.is_approximate
        size = sum(p.stat().st_size for p in self.dir.iterdir() if p.is_file())
        return {
            "index_dir": str(self.dir),
            **counts,
            "vectors": vector_count,
            "vector_index": "HNSW (approximate)" if approximate else "flat (exact)",
            "embedding_model": meta.get("model"),
            "encoder_variant": meta.get("encoder_variant") or "fp32",  # fp32 before it was recorded
            "dimensions": int(meta.get("dim", 0)),
            "chunk_sentences": int(meta.get("chunk_sentences", 0)),
            "chunk_overlap": int(meta.get("chunk_overlap", 0)),
            "size_bytes": size,
        }

    def articles(self) -> list[dict]:
        """id, title, date and source of every stored article (for listings and filters)."""
        with self.snapshot() as reader:
            rows = store.list_articles(reader.con)
        return [dict(zip(("id", "title", "date", "source"), row, strict=True)) for row in rows]

    # ------------------------------------------------------------ writing

    def write(self, prepared: Sequence[PreparedArticle], remove: Sequence[str] = ()) -> None:
        """Replace/insert ``prepared`` and delete ``remove`` in one atomic step."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")  # one writer at a time
        new_file: Path | None = None
        try:
            meta = store.get_meta(con)
            self._remove_orphans(meta.get("faiss_file", ""))
            removed: list[int] = []
            added_ids: list[int] = []
            added_vectors: list[np.ndarray] = []
            for article_id in remove:
                removed += store.delete_article(con, article_id)
            for item in prepared:
                removed += store.delete_article(con, item.article.id)
                added_ids += store.insert_article(
                    con, item.article, item.sentences, item.sentence_vectors,
                    item.chunks, item.chunk_vectors,
                )
                added_vectors.append(item.chunk_vectors)
            vectors = self._next_vectors(con, meta, removed, added_ids, added_vectors)
            generation = int(meta.get("generation", "0")) + 1
            new_file = self.dir / f"vectors.{generation:06d}.faiss"
            stamp = vectors.save(new_file)
            store.set_meta(con, {**_file_meta(generation, new_file, stamp),
                                 **self._variant_meta(meta, bool(prepared))})
            pause_at("commit")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            if new_file is not None:
                new_file.unlink(missing_ok=True)
            raise
        old = meta.get("faiss_file")
        if old:
            (self.dir / old).unlink(missing_ok=True)

    def _next_vectors(self, con, meta, removed, added_ids, added_vectors) -> VectorIndex:
        dim = int(meta["dim"])
        total = store.counts(con)["chunks"]
        current = self._vectors_for(meta) if meta.get("faiss_file") else VectorIndex.empty(dim)
        grows_past_threshold = total > self.settings.index.approximate_above and not current.is_approximate
        if (removed and current.is_approximate) or grows_past_threshold:
            ids, vectors = store.all_chunk_vectors(con, dim)  # HNSW cannot delete: rebuild
            return VectorIndex.build(ids, vectors, dim, self.settings.index.approximate_above)
        updated = current.copy()
        updated.remove(np.asarray(removed, dtype=np.int64))
        if added_ids:
            updated.add(np.asarray(added_ids, dtype=np.int64), np.vstack(added_vectors))
        return updated

    def _variant_meta(self, meta: dict[str, str], adds: bool) -> dict[str, str]:
        """The recorded variants, with this writer's added when it adds vectors."""
        recorded = [v for v in meta.get("encoder_variant", "").split(",") if v]
        if not adds or self._writer_variant is None or self._writer_variant in recorded:
            return {}
        if not recorded and meta.get("faiss_file"):
            recorded = ["fp32"]  # vectors written before variants were recorded
        return {"encoder_variant": ",".join([*recorded, self._writer_variant])}

    def rebuild_vectors(self) -> int:
        """Rebuild the FAISS file from the vectors stored in SQLite (after corruption)."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            meta = store.get_meta(con)
            dim = int(meta["dim"])
            ids, vectors = store.all_chunk_vectors(con, dim)
            rebuilt = VectorIndex.build(ids, vectors, dim, self.settings.index.approximate_above)
            generation = int(meta.get("generation", "0")) + 1
            path = self.dir / f"vectors.{generation:06d}.faiss"
            stamp = rebuilt.save(path)
            store.set_meta(con, _file_meta(generation, path, stamp))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._remove_orphans(path.name)
        return rebuilt.size

    def _remove_orphans(self, current: str) -> None:
        """Vector files left by an interrupted writer. Called only while holding the write lock."""
        for path in self.dir.glob("vectors.*.faiss*"):
            if path.name != current:
                path.unlink(missing_ok=True)

    def content_hashes(self) -> dict[str, str]:
        with self._database_errors():
            return store.article_hashes(self._con())

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None


def _file_meta(generation: int, path: Path, stamp: FileStamp) -> dict[str, str]:
    return {"generation": str(generation), "faiss_file": path.name,
            "faiss_bytes": str(stamp.size), "faiss_crc32": str(stamp.crc32)}


def _stamp(meta: dict[str, str]) -> FileStamp | None:
    """The recorded size and checksum (indexes written before they were recorded have none)."""
    if not meta.get("faiss_bytes") or not meta.get("faiss_crc32"):
        return None
    return FileStamp(int(meta["faiss_bytes"]), int(meta["faiss_crc32"]))


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


@dataclass
class Reader:
    """What a snapshot offers: the connection (inside its read transaction) and the vectors."""

    con: sqlite3.Connection
    vectors: VectorIndex

    def dense(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        allowed = store.filtered_chunk_ids(self.con, filters)
        return [cid for cid, _ in self.vectors.search(query, n, allowed)]

    def lexical(self, query: str, n: int, filters: dict | None) -> list[int]:
        return store.lexical_search(self.con, query, n, filters)

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        return store.get_chunks(self.con, ids)

    def article(self, article_id: str) -> Article | None:
        return store.get_article(self.con, article_id)

    def sentences(self, article: Article, first: int, last: int) -> list[store.StoredSentence]:
        return store.get_sentences(self.con, article, first, last)
