"""Stories in the SQLite store: which articles are copies of one wire story.

The tables (``copies``: each article's MinHash signature and story; ``copy_bands``: its LSH band
keys) are created with the rest of the schema (``sqlite._SCHEMA``); the grouping itself is
``qa.ingest.copies``, run through ``SqliteStories`` inside the writer's transaction. They were
added without a schema bump: an index written before them has no such tables until its next
write, and every article of it reads as its own story.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from qa.ingest import copies
from qa.ingest.copies import Signature, StoredCopy
from qa.types import Article

META_KEY = "copies"  # the signature version the stored rows were made with


def fresh_meta() -> dict[str, str]:
    return {META_KEY: copies.VERSION}


def get_meta(con: sqlite3.Connection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM meta").fetchall())


def grouped(con: sqlite3.Connection) -> dict[str, list[str]]:
    """Every story with more than one article, with its members in indexing order."""
    if not has_copies(con):
        return {}
    rows = con.execute("SELECT story_id, article_id FROM copies WHERE story_id IN"
                       " (SELECT story_id FROM copies GROUP BY story_id HAVING count(*) > 1)"
                       " ORDER BY seq").fetchall()
    out: dict[str, list[str]] = {}
    for story, article in rows:
        out.setdefault(story, []).append(article)
    return out


def group_missing(con: sqlite3.Connection) -> int:
    """Group the articles without a stored signature (all of them when the signature version
    changed); the caller holds the write transaction."""
    if get_meta(con).get(META_KEY) != copies.VERSION:
        clear_copies(con)
        con.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET"
                    " value=excluded.value", (META_KEY, copies.VERSION))
    todo = ungrouped_articles(con)
    grouper = SqliteStories(con)
    for article_id, text in todo:
        copies.assign_story(grouper, article_id, text)
    return len(todo)


def has_copies(con: sqlite3.Connection) -> bool:
    """Whether this database has the copies tables (see the module note)."""
    row = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='copies'").fetchone()
    return row is not None


def stories_of(con: sqlite3.Connection, article_ids: Sequence[str]) -> dict[str, str]:
    """The story of each article; an article never grouped is its own story."""
    ids = list(dict.fromkeys(article_ids))
    found: dict[str, str] = {}
    if ids and has_copies(con):
        marks = ",".join("?" * len(ids))
        found = dict(con.execute(
            f"SELECT article_id, story_id FROM copies WHERE article_id IN ({marks})", ids).fetchall())
    return {a: found.get(a, a) for a in ids}


def story_members(con: sqlite3.Connection, story_ids: Sequence[str]) -> dict[str, list[str]]:
    """The articles of each story, in indexing order (an ungrouped article: itself)."""
    ids = list(dict.fromkeys(story_ids))
    out: dict[str, list[str]] = {s: [] for s in ids}
    if ids and has_copies(con):
        marks = ",".join("?" * len(ids))
        for story, article in con.execute(
                f"SELECT story_id, article_id FROM copies WHERE story_id IN ({marks}) ORDER BY seq", ids):
            out[story].append(article)
    return {s: members or [s] for s, members in out.items()}


def story_counts(con: sqlite3.Connection) -> dict[str, int]:
    """stories: distinct stories; copies: articles beyond the first of their story."""
    articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    if not has_copies(con):
        return {"stories": articles, "copies": 0}
    grouped, stories = con.execute("SELECT count(*), count(DISTINCT story_id) FROM copies").fetchone()
    stories += articles - grouped  # articles not grouped (yet) are stories of their own
    return {"stories": stories, "copies": articles - stories}


def ungrouped_articles(con: sqlite3.Connection) -> list[tuple[str, str]]:
    """(id, text) of the articles without a stored signature, in indexing order."""
    return con.execute("SELECT id, text FROM articles WHERE id NOT IN (SELECT article_id FROM copies)"
                       " ORDER BY rowid").fetchall()


def clear_copies(con: sqlite3.Connection) -> None:
    con.execute("DELETE FROM copy_bands")
    con.execute("DELETE FROM copies")


class SqliteStories:
    """``qa.ingest.copies.StoryStore`` over a connection inside its write transaction."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def copy_candidates(self, keys: Sequence[int], min_shared: int, size: int, ratio: float,
                        limit: int) -> list[StoredCopy]:
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self.con.execute(
            "SELECT c.article_id, c.story_id, c.seq, c.shingles, c.signature FROM copies c JOIN"
            f" (SELECT seq, count(*) AS n FROM copy_bands WHERE key IN ({marks}) GROUP BY seq) b"
            " ON b.seq = c.seq WHERE b.n >= ? OR c.shingles >= ? OR c.shingles <= ?"
            " ORDER BY b.n DESC LIMIT ?",
            [*keys, min_shared, size * ratio, size / ratio, limit]).fetchall()
        return [_stored_copy(r) for r in rows]

    def add_copy(self, article_id: str, story_id: str, signature: Signature, keys: Sequence[int]) -> None:
        cur = self.con.execute(
            "INSERT INTO copies(article_id, story_id, shingles, signature) VALUES(?,?,?,?)",
            (article_id, story_id, signature.shingles, signature.to_bytes()))
        self.con.executemany("INSERT OR IGNORE INTO copy_bands(key, seq) VALUES(?,?)",
                             [(k, cur.lastrowid) for k in keys])

    def story_members(self, story_id: str) -> list[StoredCopy]:
        rows = self.con.execute("SELECT article_id, story_id, seq, shingles, signature FROM copies"
                                " WHERE story_id=? ORDER BY seq", (story_id,)).fetchall()
        return [_stored_copy(r) for r in rows]

    def set_story(self, article_ids: Sequence[str], story_id: str) -> None:
        self.con.executemany("UPDATE copies SET story_id=? WHERE article_id=?",
                             [(story_id, a) for a in article_ids])

    def merge_stories(self, story_ids: Sequence[str], into: str) -> None:
        self.con.executemany("UPDATE copies SET story_id=? WHERE story_id=?",
                             [(into, s) for s in story_ids])

    def copy_texts(self, article_ids: Sequence[str]) -> dict[str, str]:
        ids = list(article_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self.con.execute(f"SELECT id, text FROM articles WHERE id IN ({marks})", ids).fetchall())

    def story_of(self, article_id: str) -> str | None:
        row = self.con.execute("SELECT story_id FROM copies WHERE article_id=?", (article_id,)).fetchone()
        return row[0] if row else None


def _stored_copy(row: tuple) -> StoredCopy:
    article_id, story_id, seq, shingles, blob = row
    return StoredCopy(article_id, story_id, seq, Signature.from_bytes(blob, shingles))


class WriteStories:
    """Story bookkeeping of one write: articles leave (their story may split) and join."""

    def __init__(self, con: sqlite3.Connection, enabled: bool) -> None:
        self.present = has_copies(con)
        # Joining waits for group_missing() when the stored signatures are of another version.
        self.enabled = enabled and self.present and get_meta(con).get(META_KEY) == copies.VERSION
        self.grouper = SqliteStories(con)
        self.left_behind: set[str] = set()

    def leaving(self, article_id: str) -> None:
        if not self.present:
            return
        story = self.grouper.story_of(article_id)
        if story is not None:
            members = self.grouper.story_members(story)
            self.left_behind.update(m.article_id for m in members if m.article_id != article_id)

    def joining(self, article: Article) -> None:
        if self.enabled:
            copies.assign_story(self.grouper, article.id, article.text)

    def regroup(self) -> None:
        """Split what the leavers linked; the stories are looked up now, since joiners may have
        merged them since."""
        if not self.left_behind:
            return
        current = stories_of(self.grouper.con, sorted(self.left_behind))
        for story in sorted(set(current.values())):
            copies.regroup(self.grouper, story)
