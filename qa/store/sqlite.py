"""SQLite storage: articles, sentences (with their vectors), chunks (with theirs) and FTS5.

SQLite is the source of truth. The FAISS file is a derived, rebuildable view of ``chunks.vector``
whose current file name is recorded in ``meta`` inside the same transaction as the rows it
indexes, so the two never disagree. WAL mode lets readers keep a consistent snapshot while a
writer works.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.store import stories
from qa.text import STOPWORDS
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
    vector BLOB NOT NULL, PRIMARY KEY(article_id, idx));
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    first_sentence INTEGER NOT NULL, last_sentence INTEGER NOT NULL, text TEXT NOT NULL,
    vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, tokenize='porter unicode61 remove_diacritics 2');
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
# copies/copy_bands: wire copies grouped into stories (qa.store.stories, qa.ingest.copies).


@dataclass(frozen=True)
class StoredSentence:
    sentence: Sentence
    vector: np.ndarray


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA busy_timeout=60000")
    if create:
        con.execute("PRAGMA journal_mode=WAL")
        create_tables(con)
    return con


def create_tables(con: sqlite3.Connection) -> None:
    """Create what is missing (every statement is IF NOT EXISTS)."""
    con.executescript(_SCHEMA)


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
) -> list[int]:
    """Insert an article with its sentences and chunks; return the new chunk ids."""
    con.execute(
        "INSERT INTO articles(id, title, text, date, source, url, path, captions, content_hash)"
        " VALUES(?,?,?,?,?,?,?,?,?)",
        (article.id, article.title, article.text, article.date, article.source, article.url,
         article.path, json.dumps(article.captions), content_hash(article)),
    )
    con.executemany(
        "INSERT INTO sentences(article_id, idx, start_char, end_char, is_caption, vector)"
        " VALUES(?,?,?,?,?,?)",
        [(s.article_id, s.idx, s.start, s.end, int(s.is_caption), _blob(v))
         for s, v in zip(sentences, sentence_vectors, strict=True)],
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
    con: sqlite3.Connection, article: Article, first: int, last: int
) -> list[StoredSentence]:
    rows = con.execute(
        "SELECT idx, start_char, end_char, is_caption, vector FROM sentences"
        " WHERE article_id=? AND idx BETWEEN ? AND ? ORDER BY idx",
        (article.id, first, last),
    ).fetchall()
    return [
        StoredSentence(
            Sentence(article.id, idx, start, end, article.text[start:end], bool(cap)),
            np.frombuffer(vec, dtype=np.float32),
        )
        for idx, start, end, cap, vec in rows
    ]


def all_chunk_vectors(con: sqlite3.Connection, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rows = con.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, dim)
    return ids, vectors


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
    return " AND ".join(clauses), params


def lexical_search(
    con: sqlite3.Connection, query: str, limit: int, filters: dict | None = None
) -> list[int]:
    """Chunk ids ranked by FTS5 BM25 for the content words of ``query``."""
    match = fts_query(query)
    if not match:
        return []
    where, params = _filter_sql(filters)
    sql = (
        "SELECT f.rowid FROM chunks_fts f JOIN chunks c ON c.id=f.rowid"
        " JOIN articles a ON a.id=c.article_id WHERE chunks_fts MATCH ?"
        + (f" AND {where}" if where else "")
        + " ORDER BY bm25(chunks_fts, 0.5, 1.0) LIMIT ?"
    )
    return [r[0] for r in con.execute(sql, [match, *params, limit])]


def fts_query(text: str) -> str:
    """An FTS5 OR-query of the question's content words, each quoted (no syntax injection)."""
    words = [w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS]
    unique = list(dict.fromkeys(words))[:32]
    return " OR ".join(f'"{w}"' for w in unique)


def counts(con: sqlite3.Connection) -> dict[str, int]:
    return {
        table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("articles", "sentences", "chunks")
    }


def chunk_articles(con: sqlite3.Connection, chunk_ids: Sequence[int]) -> dict[int, str]:
    ids = list(chunk_ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return dict(con.execute(f"SELECT id, article_id FROM chunks WHERE id IN ({marks})", ids).fetchall())
