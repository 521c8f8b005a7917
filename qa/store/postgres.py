"""The index in PostgreSQL + pgvector: for archives past one machine and several servers at once.

Articles, sentences and chunks are rows; sentence and chunk vectors are pgvector columns, chunks
with an HNSW index (inner product: the vectors are normalised, so this is cosine); full-text search
is PostgreSQL's own (a weighted ``tsvector`` over title and text, 'english' configuration, ranked
by ``ts_rank_cd``). Writing a batch is one transaction, so text and vectors never disagree, and
nothing is cached in the process: an article committed through one server is answerable through
every other at once. A snapshot is a REPEATABLE READ, READ ONLY transaction.

pgvector before 0.8 applies a filter after the HNSW search, which can leave fewer rows than asked
when the filter is selective. Filtered searches therefore raise ``hnsw.ef_search`` (and use the
iterative scan of pgvector >= 0.8), and fall back to an exact search of the matching chunks when
the graph still returns too few.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from qa.config import Settings
from qa.errors import IndexStateError, ModelMismatchError
from qa.store import lexical, pg_schema
from qa.store.lexical import Match
from qa.store.protocol import PreparedArticle, StoredSentence
from qa.store.sqlite import content_hash
from qa.types import Article, Chunk, Sentence

FILTERED_EF_FACTOR = 4  # a filtered search keeps this many times more graph candidates
MAX_EF_SEARCH = 1000  # pgvector's ceiling for hnsw.ef_search


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
        """A REPEATABLE READ, READ ONLY transaction; nested calls in one thread share it."""
        current = getattr(self._local, "reader", None)
        if current is not None:
            yield current
            return
        with self._connection() as con, con.transaction():
            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            store = self.settings.store
            self._local.reader = PostgresReader(con, store.ef_search, self._iterative, store.lexical_rows)
            try:
                yield self._local.reader
            finally:
                self._local.reader = None

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
            if prepared:
                _insert(cur, prepared)

    def group_missing(self) -> int:
        """Wire-copy grouping into stories is not in this backend yet: every article is its own
        story (``story_id`` is its id), so retrieval gives each article its own slot."""
        return 0

    def close(self) -> None:
        self._pool.close()


def _insert(cur: psycopg.Cursor, prepared: Sequence[PreparedArticle]) -> None:
    cur.executemany(
        "INSERT INTO articles(id, title, text, date, source, url, path, captions, content_hash)"
        " VALUES(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [(a.id, a.title, a.text, a.date, a.source, a.url, a.path, json.dumps(a.captions),
          content_hash(a)) for a in (p.article for p in prepared)])
    with cur.copy("COPY sentences(article_id, idx, start_char, end_char, is_caption, text, vector)"
                  " FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["text", "int4", "int4", "int4", "bool", "text", "vector"])
        for p in prepared:
            for s, v in zip(p.sentences, p.sentence_vectors, strict=True):
                copy.write_row((s.article_id, s.idx, s.start, s.end, s.is_caption, s.text, _f32(v)))
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
                                p.article.title, c.text, _f32(v)))


def _f32(vector) -> np.ndarray:
    """A float32 array from an array or from pgvector's ``Vector`` (what binary reads return)."""
    if hasattr(vector, "to_numpy"):
        vector = vector.to_numpy()
    return np.asarray(vector, dtype=np.float32)


def _meta(con: psycopg.Connection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM meta").fetchall())


def _set_meta(con: psycopg.Connection, values: dict[str, str]) -> None:
    with con.cursor() as cur:
        cur.executemany("INSERT INTO meta(key, value) VALUES(%s, %s) ON CONFLICT(key) DO UPDATE"
                        " SET value = excluded.value", list(values.items()))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresReader:
    """Reads inside one snapshot transaction (see ``StoreReader``)."""

    def __init__(self, con: psycopg.Connection, ef_search: int, iterative: bool,
                 lexical_rows: int = 1000) -> None:
        self.con = con
        self.ef_search = ef_search
        self.iterative = iterative
        self.lexical_rows = lexical_rows

    def scalar(self, query: Any, params: Sequence[Any] = ()) -> Any:
        """The first column of the one row a query returns."""
        row = self.con.execute(query, params).fetchone()
        if row is None:
            raise IndexStateError(f"no result from: {query}")
        return row[0]

    def count(self, table: str) -> int:
        return int(self.scalar(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))))

    def dense(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        return self._nearest("chunks", query, n, filters)

    def dense_sentences(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        """Sentence ids nearest to the query vector."""
        return self._nearest("sentences", query, n, filters)

    def _nearest(self, table: str, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        if n <= 0:
            return []
        vector = _f32(query)
        where, params = filter_sql(filters)
        ef = max(self.ef_search, n) * (FILTERED_EF_FACTOR if where else 1)
        self.con.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(min(ef, MAX_EF_SEARCH))))
        if where and self.iterative:
            self.con.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        join = " JOIN articles a ON a.id = t.article_id WHERE " + where if where else ""
        rows = self.con.execute(
            f"SELECT t.id FROM {table} t{join} ORDER BY t.vector <#> %s LIMIT %s",
            [*params, vector, n]).fetchall()
        if where and len(rows) < n:
            return self.exact(vector, n, where, params, table)
        return [r[0] for r in rows]

    def exact(self, vector: np.ndarray, n: int, where: str, params: list, table: str = "chunks") -> list[int]:
        """Exact search among the rows matching ``where`` (the CTE keeps the planner off HNSW)."""
        rows = self.con.execute(
            f"WITH allowed AS MATERIALIZED (SELECT t.id, t.vector FROM {table} t JOIN articles a"
            f" ON a.id = t.article_id WHERE {where})"
            " SELECT id FROM allowed ORDER BY vector <#> %s, id LIMIT %s", [*params, vector, n]).fetchall()
        return [r[0] for r in rows]

    def lexical(self, query: str, n: int, filters: dict | None) -> list[int]:
        return self._ranked("chunks", query, n, filters)

    def lexical_sentences(self, query: str, n: int, filters: dict | None) -> list[int]:
        """Sentence ids ranked by full-text relevance."""
        return self._ranked("sentences", query, n, filters)

    def _ranked(self, table: str, query: str, n: int, filters: dict | None) -> list[int]:
        return lexical.search(query, n, self.lexical_rows,
                              lambda words: self.word_rows(table, words),
                              lambda m, words: self._ts_rank(table, m, words, n, filters))

    def word_rows(self, table: str, words: Sequence[str]) -> dict[str, float]:
        """Estimated rows of ``table`` holding each word, from the planner's statistics of its
        ``tsv`` column (kept by ANALYZE and autovacuum): the listed lexemes' frequencies; a word not
        listed is rarer than all of them (half the least frequency, as the planner assumes). No
        statistics yet (a new index): {} (the plan is then the unbounded OR)."""
        found = self.con.execute(
            "WITH s AS (SELECT most_common_elems::text::text[] AS elems, most_common_elem_freqs AS freqs"
            "  FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s AND attname = 'tsv'),"
            " w AS (SELECT u.word, l.lexeme FROM unnest(%s::text[]) AS u(word),"
            "  LATERAL unnest(to_tsvector('english', u.word)) AS l)"
            " SELECT w.word, coalesce(s.freqs[array_position(s.elems, w.lexeme)],"
            "  s.freqs[cardinality(s.elems) + 1] / 2) * greatest(c.reltuples, 0)"
            " FROM w CROSS JOIN s CROSS JOIN pg_class c WHERE c.oid = %s::regclass",
            (table, list(words), table)).fetchall()
        return {word: float(estimate or 0.0) for word, estimate in found}

    def _ts_rank(self, table: str, match: Match, words: Sequence[str], n: int,
                 filters: dict | None) -> list[int]:
        """The best ``n`` of (at most ``lexical_rows``) rows matching ``match``, ranked by
        ``ts_rank_cd`` over every question word (cheap: only those rows are ranked)."""
        where, params = filter_sql(filters)
        join = f" JOIN articles a ON a.id = t.article_id AND {where}" if where else ""
        rows = self.con.execute(
            f"SELECT m.id FROM (SELECT t.id, t.tsv FROM {table} t{join}"
            " WHERE t.tsv @@ websearch_to_tsquery('english', %s) LIMIT %s) m"
            " ORDER BY ts_rank_cd(m.tsv, websearch_to_tsquery('english', %s)) DESC, m.id LIMIT %s",
            [*params, (" " if match.every else " or ").join(match.words), self.lexical_rows,
             " or ".join(words), n]).fetchall()
        return [r[0] for r in rows]

    def sentence_places(self, ids: Sequence[int]) -> dict[int, tuple[str, int, int]]:
        """sentence id -> (article id, sentence index, the chunk that holds it most centrally)."""
        if not ids:
            return {}
        rows = self.con.execute(
            "SELECT s.id, s.article_id, s.idx, c.id, c.first_sentence, c.last_sentence FROM sentences s"
            " JOIN chunks c ON c.article_id = s.article_id AND c.first_sentence <= s.idx"
            " AND c.last_sentence >= s.idx WHERE s.id = ANY(%s)", (list(ids),)).fetchall()
        best: dict[int, tuple[float, int, str, int]] = {}
        for sid, article_id, idx, cid, first, last in rows:
            off_centre = abs((first + last) / 2 - idx)
            if sid not in best or (off_centre, cid) < best[sid][:2]:
                best[sid] = (off_centre, cid, article_id, idx)
        return {sid: (article_id, idx, cid) for sid, (_, cid, article_id, idx) in best.items()}

    def stories(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Each article is its own story here (no wire-copy grouping in this backend yet)."""
        return {aid: aid for aid in article_ids}

    def story_members(self, story_ids: Sequence[str]) -> dict[str, list[str]]:
        return {sid: [sid] for sid in story_ids}

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        if not ids:
            return {}
        rows = self.con.execute(
            "SELECT id, article_id, first_sentence, last_sentence, text FROM chunks WHERE id = ANY(%s)",
            (list(ids),)).fetchall()
        return {r[0]: Chunk(id=r[0], article_id=r[1], first_sentence=r[2], last_sentence=r[3], text=r[4])
                for r in rows}

    def article(self, article_id: str) -> Article | None:
        row = self.con.execute(
            "SELECT id, title, text, date, source, url, path, captions FROM articles WHERE id = %s",
            (article_id,)).fetchone()
        if row is None:
            return None
        aid, title, text, date, source, url, path, captions = row
        return Article(id=aid, title=title, text=text, date=date, source=source, url=url, path=path,
                       captions=tuple((int(s), int(e)) for s, e in captions), story_id=aid)

    def article_dates(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        if not article_ids:
            return {}
        return dict(self.con.execute("SELECT id, date FROM articles WHERE id = ANY(%s)",
                                     (list(article_ids),)).fetchall())

    def sentences(self, article: Article, first: int, last: int) -> list[StoredSentence]:
        with self.con.cursor(binary=True) as cur:
            rows = cur.execute(
                "SELECT idx, start_char, end_char, is_caption, vector FROM sentences"
                " WHERE article_id = %s AND idx BETWEEN %s AND %s ORDER BY idx",
                (article.id, first, last)).fetchall()
        return [StoredSentence(Sentence(article.id, idx, start, end, article.text[start:end], bool(cap)),
                               _f32(vec)) for idx, start, end, cap, vec in rows]


def filter_sql(filters: dict | None) -> tuple[str, list]:
    """The WHERE clause over ``articles a`` for source/date filters (dates compared as ISO text,
    byte-wise, like the embedded store)."""
    clauses, params = [], []
    filters = filters or {}
    if filters.get("source"):
        clauses.append("a.source = %s")
        params.append(filters["source"])
    if filters.get("date_from"):
        clauses.append('a.date COLLATE "C" >= %s')
        params.append(filters["date_from"])
    if filters.get("date_to"):
        clauses.append('a.date COLLATE "C" <= %s')
        params.append(filters["date_to"] + "\uffff")  # the whole day, whatever time follows
    if filters.get("as_of"):
        # Nothing published after the question was asked; undated (or unreadably dated) pass.
        clauses.append("(a.date IS NULL OR a.date !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'"
                       ' OR substr(a.date, 1, 10) COLLATE "C" <= %s)')
        params.append(filters["as_of"])
    return " AND ".join(clauses), params


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
