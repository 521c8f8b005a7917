"""Store round trip, replace, remove, atomic writes and broken files."""

from pathlib import Path

import numpy as np
import pytest

from qa import (
    FakeEmbedder,
    Index,
    IndexStateError,
    InputError,
    ModelMismatchError,
    build_article,
    index_articles,
    index_paths,
    remove_articles,
)
from qa.ingest.readers import _Line

from .conftest import SEED_ID


def article(aid: str, text: str, **meta):
    blocks = [[_Line(p)] for p in text.split("\n\n")]
    return build_article(blocks, title=f"Title {aid}", article_id=aid, **meta)


def assert_consistent(index: Index) -> None:
    """Every FAISS id has its chunk row and every chunk row its vector; the same for sentences
    (each has one id, one FTS row and one vector in the sentence file)."""
    with index.snapshot() as reader:
        faiss_ids = set(reader.vectors.ids().tolist())
        row_ids = {r[0] for r in reader.con.execute("SELECT id FROM chunks")}
        fts_ids = {r[0] for r in reader.con.execute("SELECT rowid FROM chunks_fts")}
        sentences = {tuple(r) for r in reader.con.execute("SELECT article_id, idx FROM sentences")}
        keyed = {tuple(r[1:]): r[0] for r in reader.con.execute(
            "SELECT id, article_id, idx FROM sentence_ids")}
        sentence_fts = {r[0] for r in reader.con.execute("SELECT rowid FROM sentences_fts")}
        sentence_vectors = reader.sentence_vectors
        sentence_faiss = set(sentence_vectors.ids().tolist()) if sentence_vectors else set()
    assert faiss_ids == row_ids == fts_ids
    assert set(keyed) == sentences
    assert set(keyed.values()) == sentence_fts == sentence_faiss


def test_round_trip(seed_index) -> None:
    index = Index.open(seed_index)
    info = index.info()
    assert info["articles"] == 1 and info["chunks"] == info["vectors"] > 0
    assert info["embedding_model"] == "fake-hash" and info["dimensions"] == 64
    with index.snapshot() as reader:
        stored = reader.article(SEED_ID)
        sentences = reader.sentences(stored, 0, 1000)
    assert len(sentences) == info["sentences"]
    for s in sentences:
        assert stored.text[s.sentence.start : s.sentence.end] == s.sentence.text
    assert stored.captions  # captions survive the round trip
    assert_consistent(index)


def test_reindexing_same_id_replaces(settings, fake_embedder) -> None:
    index_articles([article("a", "Old text about a dog.")], settings, embedder=fake_embedder)
    report = index_articles([article("a", "New text about a cat.\n\nAnd more.")], settings,
                            embedder=fake_embedder)
    assert report.indexed == ["a"]
    index = Index.open(settings)
    assert index.info()["articles"] == 1
    with index.snapshot() as reader:
        assert "cat" in reader.article("a").text
        assert reader.lexical("dog", 10, None) == []
    assert_consistent(index)


def test_unchanged_articles_are_skipped(seed_index, fake_embedder) -> None:
    calls = fake_embedder.calls
    from .conftest import SEED_ARTICLE

    report = index_paths([SEED_ARTICLE], seed_index, embedder=fake_embedder)
    assert report.unchanged == [SEED_ID] and report.indexed == []
    assert fake_embedder.calls == calls  # nothing was embedded again


def test_same_text_under_another_id_is_a_duplicate(settings, fake_embedder) -> None:
    index_articles([article("a", "Same words here.")], settings, embedder=fake_embedder)
    copy = build_article([[_Line("Same words here.")]], title="Title a", article_id="b")
    report = index_articles([copy], settings, embedder=fake_embedder)
    assert report.indexed == [] and report.duplicates


def test_remove_deletes_rows_and_vectors(settings, fake_embedder) -> None:
    index_articles([article("a", "Alpha text."), article("b", "Beta text.")], settings,
                   embedder=fake_embedder)
    remove_articles(["a"], settings)
    index = Index.open(settings)
    assert index.info()["articles"] == 1
    with index.snapshot() as reader:
        assert reader.article("a") is None
        assert reader.lexical("alpha", 10, None) == []
    assert_consistent(index)
    with pytest.raises(InputError, match="no article with id 'zzz'"):
        remove_articles(["zzz"], settings)


class ExplodingEmbedder(FakeEmbedder):
    """Fails on its n-th call, like a process dying while embedding."""

    def __init__(self, fail_on: int) -> None:
        super().__init__(name="fake-hash")
        self.fail_on = fail_on

    def encode(self, texts):
        if self.calls + 1 == self.fail_on:
            self.calls += 1
            raise RuntimeError("boom")
        return super().encode(texts)


def test_interrupted_indexing_keeps_committed_batches(settings) -> None:
    settings.index.commit_every = 1
    articles = [article(f"a{i}", f"Article number {i} says things.") for i in range(4)]
    with pytest.raises(RuntimeError):
        index_articles(articles, settings, embedder=ExplodingEmbedder(fail_on=3))
    index = Index.open(settings)
    assert index.info()["articles"] == 2  # the two committed batches survive
    assert_consistent(index)
    report = index_articles(articles, settings, embedder=FakeEmbedder(name="fake-hash"))
    assert sorted(report.unchanged) == ["a0", "a1"] and sorted(report.indexed) == ["a2", "a3"]
    assert_consistent(Index.open(settings))


def test_failed_vector_write_rolls_back_rows(settings, fake_embedder, monkeypatch) -> None:
    index_articles([article("a", "Alpha text.")], settings, embedder=fake_embedder)
    from qa.store import vectors

    def broken_save(self, path):
        Path(str(path) + ".tmp").write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(vectors.VectorIndex, "save", broken_save)
    with pytest.raises(OSError):
        index_articles([article("b", "Beta text.")], settings, embedder=fake_embedder)
    monkeypatch.undo()
    index = Index.open(settings)
    assert index.info()["articles"] == 1
    assert_consistent(index)
    index_articles([article("c", "Gamma text.")], settings, embedder=fake_embedder)
    assert not list(Path(settings.index.dir).glob("*.tmp"))  # the next writer cleans up


def test_corrupt_vector_file_is_a_clear_error_and_can_be_rebuilt(seed_index) -> None:
    index = Index.open(seed_index)
    name = index.meta()["faiss_file"]
    path = Path(seed_index.index.dir) / name
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexStateError, match=rf"{name}.*corrupt.*qa index --rebuild-vectors"):
        Index.open(seed_index).info()
    assert Index.open(seed_index).rebuild_vectors() > 0
    assert_consistent(Index.open(seed_index))


def test_garbage_database_is_a_clear_error(settings) -> None:
    directory = Path(settings.index.dir)
    directory.mkdir(parents=True)
    (directory / "qa.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(IndexStateError, match="not a readable index database"):
        Index.open(settings)


def test_model_mismatch_says_how_to_rebuild(seed_index) -> None:
    other = seed_index.model_copy(deep=True)
    other.embedding.model = "sentence-transformers/all-mpnet-base-v2"
    with pytest.raises(ModelMismatchError, match="fake-hash.*qa index PATH --rebuild"):
        Index.open(other)
    with pytest.raises(ModelMismatchError):
        index_articles([article("x", "Text.")], other, embedder=FakeEmbedder(name="other", dim=32))


def test_chunk_settings_mismatch_on_write(seed_index, fake_embedder) -> None:
    other = seed_index.model_copy(deep=True)
    other.chunking.sentences = 3
    with pytest.raises(ModelMismatchError, match="chunk_sentences"):
        index_articles([article("x", "Text.")], other, embedder=fake_embedder)


def test_missing_index_dir(tmp_path, settings) -> None:
    settings.index.dir = tmp_path / "nowhere"
    with pytest.raises(IndexStateError, match="no index in .*qa index PATH"):
        Index.open(settings)


def test_rebuild_swaps_in_a_fresh_index(seed_index, fake_embedder, tmp_path) -> None:
    from .conftest import SEED_ARTICLE

    index_paths([SEED_ARTICLE], seed_index, embedder=fake_embedder, rebuild=True)
    index = Index.open(seed_index)
    assert index.info()["articles"] == 1
    assert_consistent(index)
    _ids, vectors = index.chunk_vectors()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
