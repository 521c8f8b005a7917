"""Reads inside one PostgreSQL snapshot: the ``StoreReader`` of ``qa.store.postgres``.

A question's reads are many small queries, each a round trip to the server (a wait for another
process to be scheduled, on a busy machine), so the reader keeps their number down: the
transaction begins at the first read (a snapshot that reads nothing costs none), batched reads
take many articles or sentence runs at once, and ``hnsw.ef_search`` is set only when a search
needs another value than the connection's. The four searches of a question run as two pairs side
by side, the sentence searches on a second connection that imports this transaction's snapshot
(``pg_export_snapshot``): the server runs them on two cores, and both see one committed state.

pgvector before 0.8 applies a filter after the HNSW search, which can leave fewer rows than asked
when the filter is selective. Filtered searches therefore raise ``hnsw.ef_search`` (and use the
iterative scan of pgvector >= 0.8), and fall back to an exact search of the matching chunks when
the graph still returns too few. A date bound that no stored article falls outside (above all a
question's as-of date, today, over an archive of past news) is dropped first: it excludes
nothing, and kept it would cost every search that larger graph walk and a join.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from qa.errors import IndexStateError
from qa.parsing import StoredParse
from qa.store import lexical
from qa.store.lexical import Match
from qa.store.protocol import Searches, StoredSentence, sequential_searches
from qa.types import Article, Chunk, Sentence

FILTERED_EF_FACTOR = 4  # a filtered search keeps this many times more graph candidates
MAX_EF_SEARCH = 1000  # pgvector's ceiling for hnsw.ef_search
DATE_BOUNDS = ("date_from", "date_to", "as_of")
_ARTICLE_COLUMNS = "id, title, text, date, source, url, path, captions"
_SIDE_SEARCHES = ThreadPoolExecutor(max_workers=8, thread_name_prefix="qa-pg-side")

# A reader on a second connection sharing an exported snapshot; None when no connection is free.
Sibling = Callable[[str], AbstractContextManager["PostgresReader | None"]]


class PostgresReader:
    """Reads inside one snapshot transaction (see ``StoreReader``).

    ``connect`` gives the connection inside its transaction (called once, at the first read);
    ``ef_search`` is the connection's own ``hnsw.ef_search`` (the store sets it on each one);
    ``sibling`` opens a second reader on an exported snapshot (None: the searches run in turn).
    """

    def __init__(self, connect: Callable[[], psycopg.Connection], ef_search: int, iterative: bool,
                 lexical_rows: int = 1000, sibling: Sibling | None = None) -> None:
        self._connect = connect
        self._sibling = sibling
        self._con: psycopg.Connection | None = None
        self.ef_search = ef_search
        self.iterative = iterative
        self.lexical_rows = lexical_rows
        self._ef_now = ef_search  # hnsw.ef_search in this transaction
        self._dates: tuple[str | None, str | None, bool] | None = None
        self._word_rows: dict[tuple[str, ...], dict[str, dict[str, float]]] = {}
        self._article_dates: dict[str, str | None] = {}  # read with chunks, for article_dates

    @property
    def con(self) -> psycopg.Connection:
        if self._con is None:
            self._con = self._connect()
        return self._con

    def scalar(self, query: Any, params: Sequence[Any] = ()) -> Any:
        """The first column of the one row a query returns."""
        row = self.con.execute(query, params).fetchone()
        if row is None:
            raise IndexStateError(f"no result from: {query}")
        return row[0]

    def count(self, table: str) -> int:
        return int(self.scalar(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))))

    # ------------------------------------------------------------ filters

    def needed(self, filters: dict | None) -> dict | None:
        """``filters`` without the date bounds that no stored article falls outside (dates compare
        as in ``filter_sql``: byte-wise ISO text; an undated article fails ``date_from`` and
        ``date_to`` and passes ``as_of``). The range is read once per snapshot, from the date
        index."""
        if not filters or not any(filters.get(k) for k in DATE_BOUNDS):
            return filters or None
        if self._dates is None:
            self._read_dates()
        assert self._dates is not None
        oldest, newest, undated = self._dates
        out = dict(filters)
        if out.get("as_of") and (newest is None or newest[:10] <= out["as_of"]):
            del out["as_of"]
        if out.get("date_to") and not undated and (newest is None or newest <= out["date_to"] + "\uffff"):
            del out["date_to"]
        if out.get("date_from") and not undated and (oldest is None or oldest >= out["date_from"]):
            del out["date_from"]
        return {k: v for k, v in out.items() if v} or None

    # ------------------------------------------------------------ searches

    def searches(self, text: str, query: np.ndarray | Callable[[], np.ndarray], n: int,
                 filters: dict | None) -> Searches:
        """The chunk searches here and the sentence searches on a sibling connection, side by side;
        in turn when the pool has no connection free at once."""
        if self._sibling is None:
            return sequential_searches(self, text, query, n, filters)
        snapshot = self._read_dates(", pg_export_snapshot()")  # one round trip for both
        vector: Future[np.ndarray] = Future()  # handed to the side once this thread has it
        side = _SIDE_SEARCHES.submit(self._sentence_searches, snapshot, text, vector, n, filters)
        try:
            lexical = self.lexical(text, n, filters)
            vector.set_result(query() if callable(query) else query)
            dense = self.dense(vector.result(), n, filters)
        except BaseException:
            if not vector.done():
                vector.set_exception(RuntimeError("the chunk searches failed"))
            wait_for([side])  # its connection back in the pool before this error goes up
            raise
        found = side.result()
        if found is None:  # no second connection: this one does the sentence searches too
            found = (self.lexical_sentences(text, n, filters),
                     self.dense_sentences(vector.result(), n, filters))
        return Searches(dense, lexical, found[1], found[0])

    def _sentence_searches(self, snapshot: str, text: str, vector: Future[np.ndarray], n: int,
                           filters: dict | None) -> tuple[list[int], list[int]] | None:
        assert self._sibling is not None
        with self._sibling(snapshot) as other:
            if other is None:
                return None
            other._dates = self._dates  # the same snapshot: the same articles
            lexical = other.lexical_sentences(text, n, filters)
            return lexical, other.dense_sentences(vector.result(), n, filters)

    def _read_dates(self, also: str = "") -> Any:
        """The stored articles' date range (for ``needed``), with ``also`` (a select-list item)
        read in the same statement; its value."""
        row = self.con.execute(
            f'SELECT min(date COLLATE "C"), max(date COLLATE "C"),'
            f" EXISTS(SELECT 1 FROM articles WHERE date IS NULL){also} FROM articles").fetchone()
        assert row is not None  # an aggregate returns one row
        self._dates = (row[0], row[1], bool(row[2]))
        return row[3] if also else None

    # ------------------------------------------------------------ dense

    def dense(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        return self._nearest("chunks", query, n, filters)

    def dense_sentences(self, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        """Sentence ids nearest to the query vector."""
        return self._nearest("sentences", query, n, filters)

    def _nearest(self, table: str, query: np.ndarray, n: int, filters: dict | None) -> list[int]:
        if n <= 0:
            return []
        vector = f32(query)
        where, params = filter_sql(self.needed(filters))
        self._set_ef(max(self.ef_search, n) * (FILTERED_EF_FACTOR if where else 1))
        if where and self.iterative:
            self.con.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        join = " JOIN articles a ON a.id = t.article_id WHERE " + where if where else ""
        rows = self.con.execute(
            f"SELECT t.id FROM {table} t{join} ORDER BY t.vector <#> %s LIMIT %s",
            [*params, vector, n]).fetchall()
        if where and len(rows) < n:
            return self.exact(vector, n, where, params, table)
        return [r[0] for r in rows]

    def _set_ef(self, ef: int) -> None:
        ef = min(ef, MAX_EF_SEARCH)
        if ef != self._ef_now:
            self.con.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(ef)))
            self._ef_now = ef

    def exact(self, vector: np.ndarray, n: int, where: str, params: list, table: str = "chunks") -> list[int]:
        """Exact search among the rows matching ``where`` (the CTE keeps the planner off HNSW)."""
        rows = self.con.execute(
            f"WITH allowed AS MATERIALIZED (SELECT t.id, t.vector FROM {table} t JOIN articles a"
            f" ON a.id = t.article_id WHERE {where})"
            " SELECT id FROM allowed ORDER BY vector <#> %s, id LIMIT %s", [*params, vector, n]).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------ full text

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
        statistics yet (a new index): {} (the plan is then the unbounded OR). The chunk and the
        sentence search ask about the same words: one query answers both (kept for the snapshot)."""
        key = tuple(words)
        if key not in self._word_rows:
            found = self.con.execute(
                "WITH s AS (SELECT tablename, most_common_elems::text::text[] AS elems,"
                "  most_common_elem_freqs AS freqs FROM pg_stats WHERE schemaname = current_schema()"
                "  AND tablename IN ('chunks', 'sentences') AND attname = 'tsv'),"
                " w AS (SELECT u.word, l.lexeme FROM unnest(%s::text[]) AS u(word),"
                "  LATERAL unnest(to_tsvector('english', u.word)) AS l)"
                " SELECT s.tablename, w.word, coalesce(s.freqs[array_position(s.elems, w.lexeme)],"
                "  s.freqs[cardinality(s.elems) + 1] / 2) * greatest(c.reltuples, 0)"
                " FROM w CROSS JOIN s JOIN pg_class c ON c.oid = s.tablename::regclass",
                (list(words),)).fetchall()
            self._word_rows[key] = {name: {} for name in ("chunks", "sentences")}
            for name, word, estimate in found:
                self._word_rows[key][name][word] = float(estimate or 0.0)
        return dict(self._word_rows[key][table])

    def _ts_rank(self, table: str, match: Match, words: Sequence[str], n: int,
                 filters: dict | None) -> list[int]:
        """The best ``n`` of (at most ``lexical_rows``) rows matching ``match``, ranked by
        ``ts_rank_cd`` over every question word (cheap: only those rows are ranked)."""
        where, params = filter_sql(self.needed(filters))
        join = f" JOIN articles a ON a.id = t.article_id AND {where}" if where else ""
        rows = self.con.execute(
            f"SELECT m.id FROM (SELECT t.id, t.tsv FROM {table} t{join}"
            " WHERE t.tsv @@ websearch_to_tsquery('english', %s) LIMIT %s) m"
            " ORDER BY ts_rank_cd(m.tsv, websearch_to_tsquery('english', %s)) DESC, m.id LIMIT %s",
            [*params, (" " if match.every else " or ").join(match.words), self.lexical_rows,
             " or ".join(words), n]).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------ rows

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
            "SELECT c.id, c.article_id, c.first_sentence, c.last_sentence, c.text, a.date FROM chunks c"
            " JOIN articles a ON a.id = c.article_id WHERE c.id = ANY(%s)", (list(ids),)).fetchall()
        self._article_dates.update((r[1], r[5]) for r in rows)  # retrieval asks for them next
        return {r[0]: Chunk(id=r[0], article_id=r[1], first_sentence=r[2], last_sentence=r[3], text=r[4])
                for r in rows}

    def article(self, article_id: str) -> Article | None:
        return self.articles_by_id([article_id]).get(article_id)

    def articles_by_id(self, article_ids: Sequence[str]) -> dict[str, Article]:
        if not article_ids:
            return {}
        rows = self.con.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ANY(%s)",
                                (list(article_ids),)).fetchall()
        return {row[0]: _article(row) for row in rows}

    def article_dates(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        """From the chunks read in this snapshot when they cover ``article_ids``, else one read."""
        if all(aid in self._article_dates for aid in article_ids):
            return {aid: self._article_dates[aid] for aid in article_ids}
        found: dict[str, str | None] = dict(self.con.execute(
            "SELECT id, date FROM articles WHERE id = ANY(%s)", (list(article_ids),)).fetchall())
        self._article_dates.update(found)
        return found

    def sentences(self, article: Article, first: int, last: int) -> list[StoredSentence]:
        return self.sentence_runs([(article, first, last)])[0]

    def sentence_runs(self, runs: Sequence[tuple[Article, int, int]]) -> list[list[StoredSentence]]:
        """Sentences ``first..last`` of each run's article, all in one query."""
        if not runs:
            return []
        with self.con.cursor(binary=True) as cur:
            rows = cur.execute(  # the parser meta records comes with the rows: no second read
                "SELECT r.n, s.idx, s.start_char, s.end_char, s.is_caption, s.vector, s.parse,"
                " (SELECT value FROM meta WHERE key = 'parser')"
                " FROM unnest(%s::text[], %s::int4[], %s::int4[])"
                "  WITH ORDINALITY AS r(article_id, first, last, n)"
                " JOIN sentences s ON s.article_id = r.article_id AND s.idx BETWEEN r.first AND r.last"
                " ORDER BY r.n, s.idx",
                ([a.id for a, _, _ in runs], [f for _, f, _ in runs], [la for _, _, la in runs])).fetchall()
        out: list[list[StoredSentence]] = [[] for _ in runs]
        for n, idx, start, end, cap, vec, parse, parser in rows:
            article = runs[n - 1][0]
            out[n - 1].append(StoredSentence(
                Sentence(article.id, idx, start, end, article.text[start:end], bool(cap)), f32(vec),
                StoredParse(parse, parser) if parse and parser else None))
        return out


def _article(row: tuple) -> Article:
    aid, title, text, date, source, url, path, captions = row
    return Article(id=aid, title=title, text=text, date=date, source=source, url=url, path=path,
                   captions=tuple((int(s), int(e)) for s, e in captions), story_id=aid)


def f32(vector) -> np.ndarray:
    """A float32 array from an array or from pgvector's ``Vector`` (what binary reads return)."""
    if hasattr(vector, "to_numpy"):
        vector = vector.to_numpy()
    return np.asarray(vector, dtype=np.float32)


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
