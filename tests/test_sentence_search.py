"""Direct sentence search: the second FAISS file and the FTS5 table of sentences, kept in step
with the rows by every write, and the as-of date filter (qa.store)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import numpy as np
import pytest

from qa import Index, index_articles, remove_articles
from qa.retrieve import DatePreference, search
from qa.store.sqlite import all_sentence_vectors
from qa.types import DateWindow, Question

from .test_store import article


def assert_sentences_consistent(index: Index) -> None:
    """Every sentence has one id, one FTS row and one vector in the current sentence file."""
    with index.snapshot() as reader:
        con = reader.con
        sentences = {tuple(r) for r in con.execute("SELECT article_id, idx FROM sentences")}
        keyed = {tuple(r[1:]): r[0] for r in con.execute("SELECT id, article_id, idx FROM sentence_ids")}
        fts = {r[0] for r in con.execute("SELECT rowid FROM sentences_fts")}
        assert reader.sentence_vectors is not None
        faiss_ids = set(reader.sentence_vectors.ids().tolist())
    assert set(keyed) == sentences
    assert set(keyed.values()) == fts == faiss_ids
    files = sorted(p.name for p in index.dir.glob("sentences.*.faiss*"))
    assert len(files) == 1 and index.meta()["sentence_faiss_file"] == files[0]


def test_every_sentence_is_searchable(seed_index) -> None:
    index = Index.open(seed_index)
    info = index.info()
    assert info["sentence_vectors"] == info["sentences"] > info["chunks"]
    assert_sentences_consistent(index)


def test_dense_sentence_search_matches_brute_force(seed_index) -> None:
    index = Index.open(seed_index)
    with index.snapshot() as reader:
        ids, vectors = all_sentence_vectors(reader.con, index.dim)
        query = vectors[3] + 0.5 * vectors[7]
        query /= np.linalg.norm(query)
        found = reader.dense_sentences(query, 5, None)
    expected = ids[np.argsort(-(vectors @ query))[:5]].tolist()
    assert found == expected


def test_lexical_sentence_search_and_places(seed_index) -> None:
    index = Index.open(seed_index)
    with index.snapshot() as reader:
        found = reader.lexical_sentences("Peskov balanced position", 3, None)
        places = reader.sentence_places(found)
        article_id, idx, chunk_id = places[found[0]]
        sentence = reader.sentences(reader.article(article_id), idx, idx)[0].sentence
        chunk = reader.chunks([chunk_id])[chunk_id]
    assert "Peskov" in sentence.text
    assert chunk.first_sentence <= idx <= chunk.last_sentence


def test_replace_and_remove_keep_sentences_in_step(settings, fake_embedder) -> None:
    index_articles([article("a", "A dog barked.\n\nThe cat slept."), article("b", "Rain fell.")],
                   settings, embedder=fake_embedder)
    index_articles([article("a", "A new dog barked loudly.\n\nThe cat woke.\n\nIt ran.")], settings,
                   embedder=fake_embedder)
    index = Index.open(settings)
    assert_sentences_consistent(index)
    with index.snapshot() as reader:
        assert reader.lexical_sentences("slept", 5, None) == []
        assert len(reader.lexical_sentences("woke", 5, None)) == 1
    remove_articles(["a"], settings)
    index = Index.open(settings)
    assert_sentences_consistent(index)
    assert index.info()["sentence_vectors"] == 1


def test_an_index_without_sentence_search_gets_it_on_its_next_write(settings, fake_embedder) -> None:
    off = settings.model_copy(deep=True)
    off.index.sentence_search = False
    index_articles([article("a", "A dog barked.\n\nThe cat slept.")], off, embedder=fake_embedder)
    index = Index.open(off)
    with index.snapshot() as reader:  # readable as before, without sentence search
        assert reader.sentence_vectors is None
        assert reader.dense_sentences(np.ones(64, dtype=np.float32) / 8, 5, None) == []
        assert reader.lexical_sentences("dog", 5, None) == []
    hits = search(index, "dog", np.ones(64, dtype=np.float32) / 8, settings.retrieval)
    assert hits.hits and hits.sentences == ()
    index_articles([article("b", "Rain fell.")], settings, embedder=fake_embedder)
    index = Index.open(settings)
    assert index.info()["sentence_vectors"] == 3
    assert_sentences_consistent(index)


def test_rebuild_vectors_switches_sentence_search_on(settings, fake_embedder) -> None:
    off = settings.model_copy(deep=True)
    off.index.sentence_search = False
    index_articles([article("a", "A dog barked.\n\nThe cat slept.")], off, embedder=fake_embedder)
    with sqlite3.connect(Index.open(off).dir / "qa.sqlite") as con:  # as before sentence search
        con.execute("DROP TABLE sentence_ids")
        con.execute("DROP TABLE sentences_fts")
    index = Index.open(settings)
    with index.snapshot() as reader:  # readable without the tables
        assert reader.sentence_vectors is None and reader.lexical_sentences("dog", 5, None) == []
    index.rebuild_vectors()
    assert index.info()["sentence_vectors"] == 2
    assert_sentences_consistent(index)


def test_rebuild_vectors_rebuilds_the_sentence_file(seed_index) -> None:
    index = Index.open(seed_index)
    before = index.meta()["sentence_faiss_file"]
    index.rebuild_vectors()
    assert index.meta()["sentence_faiss_file"] != before
    assert_sentences_consistent(index)


@pytest.fixture
def dated_index(settings, fake_embedder):
    index_articles([
        article("early", "The harbour bridge opened to traffic.", date="2025-03-01"),
        article("late", "The harbour bridge closed for repairs.", date="2025-05-01T08:00:00Z"),
        article("undated", "The harbour bridge was painted blue."),
        article("odd", "The harbour bridge was painted red.", date="May 2025"),
    ], settings, embedder=fake_embedder)
    return Index.open(settings)


def test_nothing_after_the_as_of_date(dated_index, fake_embedder) -> None:
    vector = fake_embedder.encode(["harbour bridge"])[0]
    with dated_index.snapshot() as reader:
        for as_of, expected in (("2025-04-01", {"early", "undated", "odd"}),
                                ("2025-05-01", {"early", "late", "undated", "odd"})):
            f = {"as_of": as_of}
            chunks = reader.chunks(reader.dense(vector, 10, f) + reader.lexical("harbour", 10, f))
            places = reader.sentence_places(reader.dense_sentences(vector, 10, f)
                                            + reader.lexical_sentences("harbour", 10, f))
            assert {c.article_id for c in chunks.values()} == expected
            assert {p[0] for p in places.values()} == expected


def test_the_window_is_preferred_not_required(dated_index, fake_embedder, settings) -> None:
    vector = fake_embedder.encode(["harbour bridge"])[0]
    question = Question("q", "q", as_of=dt.date(2025, 5, 2),
                        window=_window("2025-04-28", "2025-05-02"))
    found = search(dated_index, "harbour bridge", vector, settings.retrieval,
                   dates=DatePreference.of(question))
    assert found.hits[0].chunk.article_id == "late"
    assert len({h.chunk.article_id for h in found.hits}) == 4  # the others are still there


def _window(start: str, end: str) -> DateWindow:
    return DateWindow(dt.date.fromisoformat(start), dt.date.fromisoformat(end), "this week")
