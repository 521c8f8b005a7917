"""SQLite storage: articles, sentences (with their vectors), chunks (with theirs) and FTS5.

SQLite is the source of truth. The FAISS file is a derived, rebuildable view of ``chunks.vector``
whose current file name is recorded in ``meta`` inside the same transaction as the rows it
indexes, so the two never disagree. WAL mode lets readers keep a consistent snapshot while a
writer works.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from qa.parsing import StoredParse
from qa.store import lexical, stories
from qa.store.protocol import StoredSentence
from qa.types import Article, Chunk, Sentence

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, date TEXT, source TEXT,
    url TEXT, path TEXT, captions TEXT NOT NULL, content_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE TABLE IF NOT EXISTS sentences(
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, is_caption INTEGER NOT NULL,
    vector BLOB NOT NULL, parse TEXT, PRIMARY KEY(article_id, idx));
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    first_sentence INTEGER NOT NULL, last_sentence INTEGER NOT NULL, text TEXT NOT NULL,
    vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS sentence_ids(
    id INTEGER PRIMARY KEY AUTOINCREMENT, article_id TEXT NOT NULL, idx INTEGER NOT NULL,
    UNIQUE(article_id, idx),
    FOREIGN KEY(article_id, idx) REFERENCES sentences(article_id, idx) ON DELETE CASCADE);
CREATE VIRTUAL TABLE IF NOT EXISTS sentences_fts USING fts5(
    text, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS copies(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL UNIQUE REFERENCES articles(id) ON DELETE CASCADE,
    story_id TEXT NOT NULL, shingles INTEGER NOT NULL, signature BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS copies_story ON copies(story_id);
CREATE TABLE IF NOT EXISTS copy_bands(
    key INTEGER NOT NULL, seq INTEGER NOT NULL REFERENCES copies(seq) ON DELETE CASCADE,
    PRIMARY KEY(key, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS copy_bands_seq ON copy_bands(seq);
"""
# sentence_ids gives each sentence a stable integer id (the FAISS id of its vector in the
# sentence index, and the rowid of its sentences_fts row). The table was added after the first
# release: an older index gets it, filled, on its next write (see ``index_all_sentences``).
# copies/copy_bands: wire copies grouped into stories (qa.store.stories, qa.ingest.copies).
# sentences.parse: the sentence's parse (qa.parsing.encode), NULL when none was stored; added
# after the first release: an older index gains the column when next opened for writing, and
# its reads leave it out until meta records a parser (see ``add_parse_column``).


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=60000")
    if create:
        con.execute("PRAGMA journal_mode=WAL")
        create_tables(con)
    return con


def create_tables(con: sqlite3.Connection) -> None:
    """Create what is missing (every statement is IF NOT EXISTS; outside a transaction:
    executescript commits)."""
    con.executescript(_SCHEMA)
    add_parse_column(con)


def add_parse_column(con: sqlite3.Connection) -> None:
    """Give an index written before parses were stored its ``sentences.parse`` column."""
    columns = {row[1] for row in con.execute("PRAGMA table_info(sentences)")}
    if "parse" not in columns:
        try:
            con.execute("ALTER TABLE sentences ADD COLUMN parse TEXT")
        except sqlite3.OperationalError as exc:  # another writer added it a moment ago
            if "duplicate column" not in str(exc):
                raise


def record_parser(con: sqlite3.Connection, meta: dict[str, str], parser: str) -> None:
    """Record the parser of the parses about to be written; parses stored by another parser
    are dropped (the reader would not use them: they parse those sentences at question time)."""
    if meta.get("parser") == parser:
        return
    if meta.get("parser"):
        con.execute("UPDATE sentences SET parse = NULL")
    set_meta(con, {"parser": parser})


def get_meta(con: sqlite3.Connection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM meta").fetchall())


def set_meta(con: sqlite3.Connection, values: dict[str, str]) -> None:
    con.executemany(
        "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        list(values.items()),
    )


def content_hash(article: Article) -> str:
    import hashlib

    payload = json.dumps([article.title, article.text, article.date, article.source, article.url])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- writes (inside a transaction)


def delete_article(con: sqlite3.Connection, article_id: str) -> list[int]:
    """Delete an article's rows; return the ids of the chunks that went with it."""
    ids = [r[0] for r in con.execute("SELECT id FROM chunks WHERE article_id=?", (article_id,))]
    con.executemany("DELETE FROM chunks_fts WHERE rowid=?", [(i,) for i in ids])
    con.execute("DELETE FROM articles WHERE id=?", (article_id,))
    return ids


def insert_article(
    con: sqlite3.Connection,
    article: Article,
    sentences: Sequence[Sentence],
    sentence_vectors: np.ndarray,
    chunks: Sequence[Chunk],
    chunk_vectors: np.ndarray,
    parses: Sequence[str | None] = (),
) -> list[int]:
    """Insert an article with its sentences (and their parses, when given) and chunks; return
    the new chunk ids."""
    con.execute(
        "INSERT INTO articles(id, title, text, date, source, url, path, captions, content_hash)"
        " VALUES(?,?,?,?,?,?,?,?,?)",
        (article.id, article.title, article.text, article.date, article.source, article.url,
         article.path, json.dumps(article.captions), content_hash(article)),
    )
    parses = parses or [None] * len(sentences)
    con.executemany(
        "INSERT INTO sentences(article_id, idx, start_char, end_char, is_caption, vector, parse)"
        " VALUES(?,?,?,?,?,?,?)",
        [(s.article_id, s.idx, s.start, s.end, int(s.is_caption), _blob(v), parse)
         for s, v, parse in zip(sentences, sentence_vectors, parses, strict=True)],
    )
    ids = []
    for chunk, vector in zip(chunks, chunk_vectors, strict=True):
        cur = con.execute(
            "INSERT INTO chunks(article_id, first_sentence, last_sentence, text, vector)"
            " VALUES(?,?,?,?,?)",
            (chunk.article_id, chunk.first_sentence, chunk.last_sentence, chunk.text, _blob(vector)),
        )
        chunk_id = int(cur.lastrowid or 0)
        con.execute("INSERT INTO chunks_fts(rowid, title, text) VALUES(?,?,?)",
                    (chunk_id, article.title, chunk.text))
        ids.append(chunk_id)
    return ids


def index_sentences(con: sqlite3.Connection, article: Article,
                    sentences: Sequence[Sentence]) -> list[int]:
    """Give an article's (already inserted) sentences ids and FTS rows; return the ids."""
    ids = []
    for s in sentences:
        cur = con.execute("INSERT INTO sentence_ids(article_id, idx) VALUES(?, ?)", (article.id, s.idx))
        sentence_id = int(cur.lastrowid or 0)
        con.execute("INSERT INTO sentences_fts(rowid, text) VALUES(?, ?)", (sentence_id, s.text))
        ids.append(sentence_id)
    return ids


def unindex_sentences(con: sqlite3.Connection, article_id: str) -> list[int]:
    """Remove an article's sentence FTS rows (its ids go with its sentences); return the ids."""
    ids = [r[0] for r in con.execute("SELECT id FROM sentence_ids WHERE article_id=?", (article_id,))]
    con.executemany("DELETE FROM sentences_fts WHERE rowid=?", [(i,) for i in ids])
    return ids


def index_all_sentences(con: sqlite3.Connection) -> None:
    """Fill sentence_ids and sentences_fts for every stored sentence that has no id yet."""
    rows = con.execute(
        "SELECT s.article_id, s.idx, substr(a.text, s.start_char + 1, s.end_char - s.start_char)"
        " FROM sentences s JOIN articles a ON a.id = s.article_id"
        " LEFT JOIN sentence_ids i ON i.article_id = s.article_id AND i.idx = s.idx"
        " WHERE i.id IS NULL ORDER BY s.article_id, s.idx").fetchall()
    for article_id, idx, text in rows:
        cur = con.execute("INSERT INTO sentence_ids(article_id, idx) VALUES(?, ?)", (article_id, idx))
        con.execute("INSERT INTO sentences_fts(rowid, text) VALUES(?, ?)", (cur.lastrowid, text))


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


# ---------------------------------------------------------------- reads


def article_hashes(con: sqlite3.Connection) -> dict[str, str]:
    return dict(con.execute("SELECT id, content_hash FROM articles").fetchall())


def get_article(con: sqlite3.Connection, article_id: str) -> Article | None:
    row = con.execute(
        "SELECT id, title, text, date, source, url, path, captions FROM articles WHERE id=?",
        (article_id,),
    ).fetchone()
    if row is None:
        return None
    aid, title, text, date, source, url, path, captions = row
    spans = tuple((int(s), int(e)) for s, e in json.loads(captions))
    return Article(id=aid, title=title, text=text, date=date, source=source, url=url, path=path,
                   captions=spans, story_id=stories.stories_of(con, [aid])[aid])


def article_dates(con: sqlite3.Connection, article_ids: Sequence[str]) -> dict[str, str | None]:
    ids = list(article_ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return dict(con.execute(f"SELECT id, date FROM articles WHERE id IN ({marks})", ids).fetchall())


def list_articles(con: sqlite3.Connection) -> list[tuple[str, str, str | None, str | None]]:
    return con.execute("SELECT id, title, date, source FROM articles ORDER BY id").fetchall()


def get_chunks(con: sqlite3.Connection, ids: Iterable[int]) -> dict[int, Chunk]:
    ids = list(ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = con.execute(
        f"SELECT id, article_id, first_sentence, last_sentence, text FROM chunks WHERE id IN ({marks})",
        ids,
    ).fetchall()
    return {r[0]: Chunk(id=r[0], article_id=r[1], first_sentence=r[2], last_sentence=r[3], text=r[4])
            for r in rows}


def get_sentences(
    con: sqlite3.Connection, article: Article, first: int, last: int, parser: str | None = None
) -> list[StoredSentence]:
    """The sentences with their parses when ``parser`` (the one meta records) is given: an index
    that records none may predate the column."""
    rows = con.execute(
        f"SELECT idx, start_char, end_char, is_caption, vector, {'parse' if parser else 'NULL'}"
        " FROM sentences WHERE article_id=? AND idx BETWEEN ? AND ? ORDER BY idx",
        (article.id, first, last),
    ).fetchall()
    return [
        StoredSentence(
            Sentence(article.id, idx, start, end, article.text[start:end], bool(cap)),
            np.frombuffer(vec, dtype=np.float32),
            StoredParse(parse, parser) if parse and parser else None,
        )
        for idx, start, end, cap, vec, parse in rows
    ]


def all_chunk_vectors(con: sqlite3.Connection, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rows = con.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dim)
    return ids, vectors


def all_sentence_vectors(con: sqlite3.Connection, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rows = con.execute("SELECT i.id, s.vector FROM sentence_ids i JOIN sentences s"
                       " ON s.article_id = i.article_id AND s.idx = i.idx ORDER BY i.id").fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dim)
    return ids, vectors


def sentence_places(con: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[str, int, int]]:
    """sentence id -> (article id, sentence index, the chunk that holds it most centrally)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = con.execute(
        "SELECT i.id, i.article_id, i.idx, c.id, c.first_sentence, c.last_sentence"
        " FROM sentence_ids i JOIN chunks c ON c.article_id = i.article_id"
        " AND c.first_sentence <= i.idx AND c.last_sentence >= i.idx"
        f" WHERE i.id IN ({marks})", list(ids)).fetchall()
    best: dict[int, tuple[float, int, str, int]] = {}
    for sid, article_id, idx, cid, first, last in rows:
        off_centre = abs((first + last) / 2 - idx)
        if sid not in best or (off_centre, cid) < best[sid][:2]:
            best[sid] = (off_centre, cid, article_id, idx)
    return {sid: (article_id, idx, cid) for sid, (_, cid, article_id, idx) in best.items()}


def dated_after(con: sqlite3.Connection, chunk_ids: Sequence[int], as_of: str) -> set[int]:
    """The chunks among ``chunk_ids`` whose article is dated after ``as_of`` (YYYY-MM-DD)."""
    if not chunk_ids:
        return set()
    marks = ",".join("?" * len(chunk_ids))
    rows = con.execute(
        f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})"
        f" AND {_ISO_DATE} AND substr(a.date, 1, 10) > ?", [*chunk_ids, as_of])
    return {r[0] for r in rows}


def filtered_chunk_ids(con: sqlite3.Connection, filters: dict | None) -> list[int] | None:
    """Chunk ids allowed by source/date filters, or None when there is no filter."""
    where, params = _filter_sql(filters)
    if not where:
        return None
    sql = f"SELECT c.id FROM chunks c JOIN articles a ON a.id=c.article_id WHERE {where}"
    return [r[0] for r in con.execute(sql, params)]


def _filter_sql(filters: dict | None) -> tuple[str, list]:
    clauses, params = [], []
    filters = filters or {}
    if filters.get("source"):
        clauses.append("a.source = ?")
        params.append(filters["source"])
    if filters.get("date_from"):
        clauses.append("a.date >= ?")
        params.append(filters["date_from"])
    if filters.get("date_to"):
        clauses.append("a.date <= ?")
        params.append(filters["date_to"] + "\uffff")  # the whole day, whatever time follows
    if filters.get("as_of"):
        # Nothing published after the question was asked; undated (or unreadably dated) pass.
        clauses.append(f"(a.date IS NULL OR NOT {_ISO_DATE} OR substr(a.date, 1, 10) <= ?)")
        params.append(filters["as_of"])
    return " AND ".join(clauses), params


_ISO_DATE = "a.date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"


# The full-text tables: (FTS5 table, the table holding its rowids, BM25 column weights).
_FTS = {"chunks": ("chunks_fts", "chunks", "0.5, 1.0"), "sentences": ("sentences_fts", "sentence_ids", "1.0")}


def lexical_search(con: sqlite3.Connection, query: str, limit: int, filters: dict | None = None,
                   budget: int = 1000, table: str = "chunks") -> list[int]:
    """Chunk (or sentence: ``table="sentences"``) ids ranked by FTS5 BM25 for the content words
    of ``query``, each FTS5 query ranking at most ``budget`` rows (see ``qa.store.lexical``)."""
    fts = _FTS[table][0]
    return lexical.search(query, limit, budget,
                          lambda words: {w: _rows_with(con, fts, w, budget + 1) for w in words},
                          lambda m, _words: _bm25(con, table, m, limit, filters, budget))


def _rows_with(con: sqlite3.Connection, fts: str, word: str, cap: int) -> int:
    """How many rows hold ``word``, counted up to ``cap`` (a bounded walk of its postings)."""
    return con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH ? LIMIT ?)",
                       (f'"{word}"', cap)).fetchone()[0]


def _bm25(con: sqlite3.Connection, table: str, match: lexical.Match, limit: int,
          filters: dict | None, budget: int) -> list[int]:
    """The best ``limit`` of (at most ``budget``) rows matching ``match``, by BM25."""
    fts, ids, weights = _FTS[table]
    where, params = _filter_sql(filters)
    join = (f" JOIN {ids} c ON c.id = f.rowid JOIN articles a ON a.id = c.article_id AND {where}"
            if where else "")
    expression = (" AND " if match.every else " OR ").join(f'"{w}"' for w in match.words)
    sql = (f"SELECT id FROM (SELECT f.rowid AS id, bm25({fts}, {weights}) AS score FROM {fts} f{join}"
           f" WHERE {fts} MATCH ? LIMIT ?) ORDER BY score, id LIMIT ?")
    return [r[0] for r in con.execute(sql, [*params, expression, budget, limit])]


def filtered_sentence_ids(con: sqlite3.Connection, filters: dict | None) -> list[int] | None:
    """Sentence ids allowed by the filters, or None when there is no filter."""
    where, params = _filter_sql(filters)
    if not where:
        return None
    sql = f"SELECT i.id FROM sentence_ids i JOIN articles a ON a.id = i.article_id WHERE {where}"
    return [r[0] for r in con.execute(sql, params)]


def sentences_dated_after(con: sqlite3.Connection, ids: Sequence[int], as_of: str) -> set[int]:
    """The sentences among ``ids`` whose article is dated after ``as_of`` (YYYY-MM-DD)."""
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = con.execute(
        f"SELECT i.id FROM sentence_ids i JOIN articles a ON a.id = i.article_id"
        f" WHERE i.id IN ({marks}) AND {_ISO_DATE} AND substr(a.date, 1, 10) > ?", [*ids, as_of])
    return {r[0] for r in rows}


def count_rows(con: sqlite3.Connection, table: str) -> int:
    assert table in ("articles", "sentences", "chunks", "sentence_ids")
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def counts(con: sqlite3.Connection) -> dict[str, int]:
    return {
        table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("articles", "sentences", "chunks")
    }

