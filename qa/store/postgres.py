"""The index in PostgreSQL + pgvector: for archives past one machine and several servers at once.

Articles, sentences and chunks are rows; sentence and chunk vectors are pgvector columns, chunks
with an HNSW index (inner product: the vectors are normalised, so this is cosine); full-text search
is PostgreSQL's own (a weighted ``tsvector`` over title and text, 'english' configuration, ranked
by ``ts_rank_cd``). Writing a batch is one transaction, so text and vectors never disagree, and
nothing is cached in the process: an article committed through one server is answerable through
every other at once. A snapshot is a REPEATABLE READ, READ ONLY transaction; its reads (and
filtered searches) are ``qa.store.pg_reader``'s.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from qa.config import Settings
from qa.errors import IndexStateError, ModelMismatchError
from qa.store import pg_schema
from qa.store.pg_reader import PostgresReader, Sibling, f32
from qa.store.protocol import PreparedArticle, parser_of
from qa.store.sqlite import content_hash

SIBLING_WAIT_S = 0.005  # the longest a question waits for a second connection (then: one)


def redacted_dsn(dsn: str | None) -> str:
    """host/dbname (user) without the password, for messages and ``qa info``."""
    try:
        parts = conninfo_to_dict(dsn or "")
    except psycopg.ProgrammingError:
        return "(unparsable dsn)"
    host = parts.get("host") or "localhost"
    host = "local socket" if str(host).startswith("/") else host
    return f"{host}/{parts.get('dbname') or parts.get('user') or ''}"


class PostgresStore:
    backend = "postgres"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schema = settings.store.schema_name
        self.dsn = settings.store.dsn or ""
        self.where = f"PostgreSQL {redacted_dsn(self.dsn)} schema {self.schema}"
        pg_schema.ensure_schema(self.dsn, self.schema)
        self._local = threading.local()
        self._pool = ConnectionPool(self.dsn, min_size=1, max_size=settings.store.pool_size,
                                    kwargs={"autocommit": True}, configure=self._configure,
                                    open=True, timeout=30.0, name=f"qa-{self.schema}")
        self._iterative = self._pgvector_version() >= (0, 8)

    def _configure(self, con: psycopg.Connection) -> None:
        from pgvector.psycopg import register_vector

        register_vector(con)
        pg_schema.set_search_path(con, self.schema)
        # the reader's default, so that a search needs no SET LOCAL of its own
        con.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(self.settings.store.ef_search)))

    def _pgvector_version(self) -> tuple[int, ...]:
        with self._connection() as con:
            row = con.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
        return tuple(int(p) for p in re.findall(r"\d+", row[0])[:3]) if row else (0,)

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, settings: Settings, model: str | None = None) -> PostgresStore:
        store = cls(settings)
        meta = store.meta()
        wanted = model or settings.embedding.model
        if not meta.get("model"):
            store.close()
            raise IndexStateError(f"{store.where} holds no indexed articles yet; run: qa index PATH")
        if meta["model"] != wanted:
            store.close()
            raise ModelMismatchError(
                f"{store.where} was built with embedding model {meta['model']!r} ({meta['dim']} dims) "
                f"but the settings ask for {wanted!r}; rebuild with: qa index PATH --rebuild, or set "
                f"QA_EMBEDDING__MODEL={meta['model']}")
        return store

    @classmethod
    def open_for_writing(cls, settings: Settings, model: str, dim: int, *,
                         variant: str = "fp32") -> PostgresStore:
        store = cls(settings)
        c = settings.chunking
        wanted = {"schema": pg_schema.SCHEMA_VERSION, "model": model, "dim": str(dim),
                  "chunk_sentences": str(c.sentences), "chunk_overlap": str(c.overlap)}
        with store._connection() as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(hashtext('qa-meta'), hashtext(%s))", (store.schema,))
            meta = _meta(con)
            if not meta.get("model"):
                pg_schema.fix_dimension(con, dim)
                _set_meta(con, wanted)
                meta = wanted
            if variant not in meta.get("encoder_variant", "").split(","):  # recorded, not checked
                _set_meta(con, {"encoder_variant": ",".join(filter(None, [meta.get("encoder_variant"),
                                                                          variant]))})
        for key, value in wanted.items():
            if meta.get(key) != value:
                store.close()
                raise ModelMismatchError(
                    f"{store.where} was built with {key}={meta.get(key)!r} but the settings ask for "
                    f"{value!r}; rebuild with: qa index PATH --rebuild (or use the index's settings)")
        return store

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        try:
            with self._pool.connection() as con:
                yield con
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise IndexStateError(f"{self.where}: database unavailable ({_first_line(exc)})") from None

    def meta(self) -> dict[str, str]:
        with self._connection() as con:
            return _meta(con)

    @property
    def dim(self) -> int:
        return int(self.meta()["dim"])

    # ------------------------------------------------------------ reading

    @contextmanager
    def snapshot(self) -> Iterator[PostgresReader]:
        """A REPEATABLE READ, READ ONLY transaction, begun (in one round trip) at the first read;
        nested calls in one thread share it."""
        current = getattr(self._local, "reader", None)
        if current is not None:
            yield current
            return
        with ExitStack() as stack:

            def begin() -> psycopg.Connection:
                con = stack.enter_context(self._connection())
                _begin_read_only(stack, con)
                return con

            self._local.reader = self._reader(begin, sibling=self._sibling)
            try:
                yield self._local.reader
            finally:
                self._local.reader = None

    def _reader(self, connect: Callable[[], psycopg.Connection], sibling: Sibling | None = None,
                ) -> PostgresReader:
        store = self.settings.store
        return PostgresReader(connect, store.ef_search, self._iterative, store.lexical_rows, sibling)

    @contextmanager
    def _sibling(self, snapshot: str) -> Iterator[PostgresReader | None]:
        """A reader on a second connection in the exported ``snapshot``, or None when the pool has
        none free within a few milliseconds (several questions at once: they run in turn rather
        than wait for each other's connections)."""
        try:
            con = self._pool.getconn(timeout=SIBLING_WAIT_S)
        except PoolTimeout:
            yield None
            return
        try:
            with ExitStack() as stack:
                _begin_read_only(stack, con)
                con.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
                yield self._reader(lambda: con)
        except psycopg.OperationalError as exc:
            raise IndexStateError(f"{self.where}: database unavailable ({_first_line(exc)})") from None
        finally:
            self._pool.putconn(con)

    def info(self) -> dict:
        meta = self.meta()
        with self.snapshot() as reader:
            counts = {t: reader.count(t) for t in ("articles", "sentences", "chunks")}
            size = reader.scalar(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                (self.schema,))
            version = reader.scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        return {
            "database": redacted_dsn(self.dsn), "schema": self.schema, **counts,
            "vectors": counts["chunks"], "vector_index": f"HNSW (pgvector {version})",
            "embedding_model": meta.get("model"), "dimensions": int(meta.get("dim", 0)),
            "encoder_variant": meta.get("encoder_variant") or "fp32",
            "chunk_sentences": int(meta.get("chunk_sentences", 0)),
            "chunk_overlap": int(meta.get("chunk_overlap", 0)), "size_bytes": int(size),
        }

    def articles(self) -> list[dict]:
        with self.snapshot() as reader:
            rows = reader.con.execute("SELECT id, title, date, source FROM articles ORDER BY id").fetchall()
        keys = ("id", "title", "date", "source")
        return [{**dict(zip(keys, row, strict=True)), "story": row[0]} for row in rows]

    def content_hashes(self) -> dict[str, str]:
        with self._connection() as con:
            return dict(con.execute("SELECT id, content_hash FROM articles").fetchall())

    # ------------------------------------------------------------ writing

    def write(self, prepared: Sequence[PreparedArticle], remove: Sequence[str] = ()) -> None:
        """Replace/insert ``prepared`` and delete ``remove`` in one transaction. Writers lock the
        articles they touch (in a fixed order), so parallel writers of other articles proceed."""
        touched = sorted({*remove, *(p.article.id for p in prepared)})
        with self._connection() as con, con.transaction(), con.cursor() as cur:
            for article_id in touched:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                            (self.schema, article_id))
            cur.execute("DELETE FROM articles WHERE id = ANY(%s)", (touched,))
            parser = parser_of(prepared)
            if parser:
                _record_parser(cur, parser)
            if prepared:
                _insert(cur, prepared, parser)

    def group_missing(self) -> int:
        """Wire-copy grouping into stories is not in this backend yet: every article is its own
        story (``story_id`` is its id), so retrieval gives each article its own slot."""
        return 0

    def close(self) -> None:
        self._pool.close()


def _record_parser(cur: psycopg.Cursor, parser: str) -> None:
    """Record the parser of the parses about to be written; parses by another are dropped."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('qa-parser'), 0)")
    found = cur.execute("SELECT value FROM meta WHERE key = 'parser'").fetchone()
    if found and found[0] == parser:
        return
    if found:
        cur.execute("UPDATE sentences SET parse = NULL WHERE parse IS NOT NULL")
    cur.execute("INSERT INTO meta(key, value) VALUES('parser', %s) ON CONFLICT(key) DO UPDATE"
                " SET value = excluded.value", (parser,))


def _insert(cur: psycopg.Cursor, prepared: Sequence[PreparedArticle], parser: str | None) -> None:
    cur.executemany(
        "INSERT INTO articles(id, title, text, date, source, url, path, captions, content_hash)"
        " VALUES(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [(a.id, a.title, a.text, a.date, a.source, a.url, a.path, json.dumps(a.captions),
          content_hash(a)) for a in (p.article for p in prepared)])
    with cur.copy("COPY sentences(article_id, idx, start_char, end_char, is_caption, text, vector,"
                  " parse) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["text", "int4", "int4", "int4", "bool", "text", "vector", "text"])
        for p in prepared:
            for s, v, parse in zip(p.sentences, p.sentence_vectors, p.parses_by(parser), strict=True):
                copy.write_row((s.article_id, s.idx, s.start, s.end, s.is_caption, s.text, f32(v),
                                parse))
    total = sum(len(p.chunks) for p in prepared)
    cur.execute("SELECT nextval(pg_get_serial_sequence('chunks', 'id')) FROM generate_series(1, %s)",
                (total,))
    ids = iter([row[0] for row in cur.fetchall()])
    with cur.copy("COPY chunks(id, article_id, first_sentence, last_sentence, title, text, vector)"
                  " FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", "int4", "int4", "text", "text", "vector"])
        for p in prepared:
            for c, v in zip(p.chunks, p.chunk_vectors, strict=True):
                copy.write_row((next(ids), c.article_id, c.first_sentence, c.last_sentence,
                                p.article.title, c.text, f32(v)))


def _begin_read_only(stack: ExitStack, con: psycopg.Connection) -> None:
    """Begin a REPEATABLE READ, READ ONLY transaction on ``con``, ended (and the connection's
    default transactions restored) when ``stack`` closes."""
    con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    con.read_only = True  # both go into the BEGIN statement
    stack.callback(_read_write, con)
    stack.enter_context(con.transaction())


def _read_write(con: psycopg.Connection) -> None:
    """Back to the default transactions (writers share the pool's connections)."""
    if con.info.transaction_status == TransactionStatus.IDLE:  # else the pool discards it
        con.isolation_level = con.read_only = None


def _meta(con: psycopg.Connection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM meta").fetchall())


def _set_meta(con: psycopg.Connection, values: dict[str, str]) -> None:
    with con.cursor() as cur:
        cur.executemany("INSERT INTO meta(key, value) VALUES(%s, %s) ON CONFLICT(key) DO UPDATE"
                        " SET value = excluded.value", list(values.items()))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def rebuild_schema(settings: Settings) -> Iterator[Settings]:
    """``qa index --rebuild``: build into a sibling schema, then swap the two in one transaction;
    the old index keeps answering until the swap, and readers see the old one or the new one."""
    target = settings.store.schema_name
    staged_name = f"{target}_rebuild"
    dsn = settings.store.dsn or ""
    _drop_schema(dsn, staged_name)
    staged = settings.model_copy(deep=True)
    staged.store.schema_name = staged_name
    pg_schema.ensure_schema(dsn, staged_name)
    yield staged
    with psycopg.connect(dsn, autocommit=True) as con, con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(hashtext('qa-migrate'), hashtext(%s))", (target,))
        old = sql.Identifier(f"{target}_old")
        con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(old))
        if con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (target,)).fetchone():
            con.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(target), old))
        con.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
            sql.Identifier(staged_name), sql.Identifier(target)))
        con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(old))


def _drop_schema(dsn: str, name: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
