"""The store contract: one suite, run against the embedded store and against PostgreSQL.

Everything retrieval and answering rely on: writes that replace and remove whole articles
atomically, reads of articles, sentences (offsets, captions, vectors) and chunks, dense and
full-text search with source/date filters, consistent snapshots, and the errors for a missing or
mismatched index.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from qa import Assistant, FakeEmbedder, IndexStateError, ModelMismatchError, Settings, index_paths
from qa.ingest.chunking import article_sentences, make_chunks
from qa.store.indexer import chunk_vectors, index_articles
from qa.store.protocol import (
    PreparedArticle,
    Searches,
    Store,
    StoreReader,
    open_store,
    open_store_for_writing,
)
from qa.types import Article
from tests.conftest import SEED_ARTICLE, SEED_ID

EMBEDDER = FakeEmbedder(name="fake-hash")

HARBOUR = Article(
    id="harbour", title="Harbour bridge reopens",
    text=("The harbour bridge reopened on Monday after repairs. Engineers replaced the cables.\n\n"
          "Photo: the bridge at dawn.\n\nThe mayor, Ines Okafor, cut the ribbon."),
    date="2025-03-10", source="Coast Gazette", url="https://example.org/harbour",
    captions=((85, 111),))
ORCHARD = Article(
    id="orchard", title="Orchard harvest doubles",
    text=("Apple growers in the valley reported a record harvest. Prices for cider apples fell.\n\n"
          "The cooperative plans a new press next spring."),
    date="2024-11-02", source="Valley Times")


def prepared(article: Article, settings: Settings) -> PreparedArticle:
    sentences = article_sentences(article)
    chunks = make_chunks(article, sentences, settings.chunking.sentences, settings.chunking.overlap)
    vectors = EMBEDDER.encode([s.text for s in sentences])
    return PreparedArticle(article, sentences, vectors, chunks, chunk_vectors(chunks, vectors))


@pytest.fixture
def store(backend_settings: Settings):
    index_articles([HARBOUR, ORCHARD], backend_settings, embedder=EMBEDDER)
    opened = open_store(backend_settings)
    yield opened
    opened.close()


def all_chunk_ids(reader: StoreReader, settings: Settings) -> list[int]:
    return reader.dense(EMBEDDER.encode(["anything"])[0], 1000, None)


def test_implements_the_protocol(store):
    assert isinstance(store, Store)
    with store.snapshot() as reader:
        assert isinstance(reader, StoreReader)


def test_articles_round_trip_with_captions_and_metadata(store):
    with store.snapshot() as reader:
        assert reader.article("harbour") == replace(HARBOUR, story_id="harbour")  # its own story
        assert reader.article("orchard") == replace(ORCHARD, story_id="orchard")
        assert reader.article("missing") is None
    assert [a["id"] for a in store.articles()] == ["harbour", "orchard"]
    assert store.articles()[0] == {"id": "harbour", "title": HARBOUR.title, "date": "2025-03-10",
                                   "source": "Coast Gazette", "story": "harbour"}


def test_sentences_have_offsets_captions_and_the_written_vectors(store):
    expected = article_sentences(HARBOUR)
    with store.snapshot() as reader:
        stored = reader.sentences(HARBOUR, 0, len(expected) - 1)
        middle = reader.sentences(HARBOUR, 1, 2)
    assert [s.sentence for s in stored] == expected
    for item in stored:
        assert HARBOUR.text[item.sentence.start:item.sentence.end] == item.sentence.text
    assert [s.sentence.is_caption for s in stored] == [False, False, True, False]
    written = EMBEDDER.encode([s.text for s in expected])
    np.testing.assert_allclose(np.vstack([s.vector for s in stored]), written, rtol=1e-6)
    assert [s.sentence.idx for s in middle] == [1, 2]


def test_chunks_by_id_and_counts_in_info(store, backend_settings):
    info = store.info()
    assert (info["articles"], info["embedding_model"], info["dimensions"]) == (2, "fake-hash", 64)
    assert info["sentences"] == len(article_sentences(HARBOUR)) + len(article_sentences(ORCHARD))
    with store.snapshot() as reader:
        ids = all_chunk_ids(reader, backend_settings)
        chunks = reader.chunks(ids)
    assert len(ids) == info["chunks"] == info["vectors"] == len(chunks)
    for cid, chunk in chunks.items():
        assert chunk.id == cid
        assert chunk.text in (HARBOUR.text + ORCHARD.text)
    assert store.meta()["model"] == "fake-hash"


def test_dense_search_ranks_the_nearest_chunk_first(store):
    query = EMBEDDER.encode(["apple growers record harvest in the valley"])[0]
    with store.snapshot() as reader:
        ids = reader.dense(query, 3, None)
        top = reader.chunks(ids[:1])[ids[0]]
    assert top.article_id == "orchard"
    assert len(ids) == len(set(ids)) <= 3


def test_full_text_search_stems_and_ranks(store):
    with store.snapshot() as reader:
        by_word = reader.chunks(reader.lexical("Who cut the ribbon?", 5, None))
        stemmed = reader.chunks(reader.lexical("harvests of apples", 5, None))
        nothing = reader.lexical("zeppelin", 5, None)
        only_stopwords = reader.lexical("who is the", 5, None)
    assert {c.article_id for c in by_word.values()} == {"harbour"}
    assert {c.article_id for c in stemmed.values()} == {"orchard"}
    assert nothing == [] and only_stopwords == []


def test_query_syntax_is_not_interpreted(store):
    with store.snapshot() as reader:
        for text in ['"ribbon', "ribbon -mayor", "ribbon OR harvest)", "ribbon & !", "NEAR(ribbon"]:
            assert isinstance(reader.lexical(text, 5, None), list)


@pytest.mark.parametrize("search", ["dense", "lexical"])
def test_filters_by_source_and_date(store, search):
    text = "bridge harvest apples mayor ribbon cider"
    query = EMBEDDER.encode([text])[0]

    def articles(filters):
        with store.snapshot() as reader:
            ids = reader.dense(query, 20, filters) if search == "dense" else reader.lexical(text, 20, filters)
            return {c.article_id for c in reader.chunks(ids).values()}

    assert articles(None) == {"harbour", "orchard"}
    assert articles({"source": "Valley Times"}) == {"orchard"}
    assert articles({"date_from": "2025-01-01"}) == {"harbour"}
    assert articles({"date_to": "2025-03-10"}) == {"harbour", "orchard"}  # the whole last day
    assert articles({"date_to": "2025-03-09"}) == {"orchard"}
    assert articles({"source": "Valley Times", "date_from": "2025-01-01"}) == set()


def test_replacing_an_article_leaves_nothing_of_the_old_version(store, backend_settings):
    with store.snapshot() as reader:
        old_ids = {cid for cid, c in reader.chunks(all_chunk_ids(reader, backend_settings)).items()
                   if c.article_id == "harbour"}
    new = Article(id="harbour", title="Harbour bridge closes",
                  text="The bridge closed again. Nobody knows why.")
    store.write([prepared(new, backend_settings)])
    with store.snapshot() as reader:
        chunks = reader.chunks(all_chunk_ids(reader, backend_settings))
        assert reader.article("harbour") == replace(new, story_id="harbour")
        assert [s.sentence.text for s in reader.sentences(new, 0, 10)] == [
            "The bridge closed again.", "Nobody knows why."]
        assert not old_ids & set(chunks)
        assert reader.lexical("ribbon", 5, None) == []
    assert store.info()["articles"] == 2


def test_removing_an_article(store, backend_settings):
    store.write([], remove=["orchard"])
    with store.snapshot() as reader:
        assert reader.article("orchard") is None
        assert {c.article_id for c in reader.chunks(all_chunk_ids(reader, backend_settings)).values()} == {
            "harbour"}
        assert reader.lexical("harvest", 5, None) == []
    assert set(store.content_hashes()) == {"harbour"}


def test_a_failed_write_changes_nothing(store, backend_settings):
    before = store.info()
    good = prepared(Article(id="new", title="New", text="A new article. It is short."), backend_settings)
    bad = prepared(Article(id="bad", title="Bad", text="Vectors missing. For this one."), backend_settings)
    bad = PreparedArticle(bad.article, bad.sentences, bad.sentence_vectors[:1], bad.chunks, bad.chunk_vectors)
    with pytest.raises(ValueError):
        store.write([good, bad], remove=["orchard"])
    assert store.info() == before
    with store.snapshot() as reader:
        assert reader.article("new") is None
        assert reader.article("orchard") == replace(ORCHARD, story_id="orchard")


def test_a_snapshot_does_not_see_later_commits(store, backend_settings):
    added = prepared(Article(id="late", title="Late news", text="A zeppelin landed. Crowds gathered."),
                     backend_settings)
    with store.snapshot() as reader:
        assert reader.lexical("zeppelin", 5, None) == []
        writer = threading.Thread(target=store.write, args=([added],))
        writer.start()
        writer.join(timeout=60)
        assert not writer.is_alive()
        assert reader.article("late") is None
        assert reader.lexical("zeppelin", 5, None) == []
        with store.snapshot() as nested:  # re-entrant: the same snapshot
            assert nested.article("late") is None
    with store.snapshot() as reader:
        assert reader.article("late") is not None
        assert len(reader.lexical("zeppelin", 5, None)) == 1


def test_content_hashes_skip_unchanged_articles(store, backend_settings):
    report = index_articles([HARBOUR, ORCHARD], backend_settings, embedder=EMBEDDER)
    assert report.indexed == [] and sorted(report.unchanged) == ["harbour", "orchard"]
    assert set(store.content_hashes()) == {"harbour", "orchard"}


def test_opening_a_missing_or_mismatched_index_is_a_clear_error(backend_settings):
    with pytest.raises(IndexStateError, match="qa index"):
        open_store(backend_settings)
    index_articles([ORCHARD], backend_settings, embedder=EMBEDDER)
    with pytest.raises(ModelMismatchError, match="fake-hash"):
        open_store(backend_settings, model="fake-other")
    with pytest.raises(ModelMismatchError, match="dim"):
        open_store_for_writing(backend_settings, "fake-hash", 32)


def test_rebuild_replaces_the_whole_index(store, backend_settings):
    report = index_paths([SEED_ARTICLE], backend_settings, embedder=EMBEDDER, rebuild=True)
    assert report.indexed == [SEED_ID]
    reopened = open_store(backend_settings)
    try:
        assert [a["id"] for a in reopened.articles()] == [SEED_ID]
    finally:
        reopened.close()


def test_the_assistant_answers_from_either_backend(backend_settings):
    index_paths([SEED_ARTICLE], backend_settings, embedder=EMBEDDER)
    assistant = Assistant(backend_settings, embedder=EMBEDDER)
    try:
        answer = assistant.ask("Who chaired the meeting?")
        filtered = assistant.ask("Who chaired the meeting?", filters={"source": "nowhere"})
    finally:
        assistant.close()
    assert answer.citations and answer.citations[0].article_id == SEED_ID
    cited = answer.citations[0]
    reopened = open_store(backend_settings)
    with reopened.snapshot() as reader:
        article = reader.article(SEED_ID)
    reopened.close()
    assert article is not None and article.text[cited.start:cited.end] == cited.sentence
    assert not filtered.citations


def test_sentence_search_dense_and_full_text_with_places(store):
    sentences = article_sentences(HARBOUR)
    target = sentences[3]  # "The mayor, Ines Okafor, cut the ribbon."
    with store.snapshot() as reader:
        dense = reader.dense_sentences(EMBEDDER.encode([target.text])[0], 3, None)
        lexical = reader.lexical_sentences("Who cut the ribbon?", 3, None)
        places = reader.sentence_places([dense[0], *lexical])
        chunk = reader.chunks([places[dense[0]][2]])[places[dense[0]][2]]
        assert reader.lexical_sentences("zeppelin", 3, None) == []
    assert places[dense[0]][:2] == ("harbour", 3)
    assert [places[i][:2] for i in lexical] == [("harbour", 3)]
    assert chunk.article_id == "harbour" and chunk.first_sentence <= 3 <= chunk.last_sentence


@pytest.mark.parametrize("search", ["dense", "lexical", "dense_sentences", "lexical_sentences"])
def test_as_of_drops_later_articles_and_keeps_undated_ones(store, backend_settings, search):
    undated = Article(id="undated", title="Harbour apples", text="Harbour apples were sold. Cider too.")
    store.write([prepared(undated, backend_settings)])
    text = "harbour bridge apples cider harvest ribbon"
    query = EMBEDDER.encode([text])[0]

    def articles(filters):
        with store.snapshot() as reader:
            found = getattr(reader, search)(text if "lexical" in search else query, 50, filters)
            if "sentences" in search:
                return {place[0] for place in reader.sentence_places(found).values()}
            return {c.article_id for c in reader.chunks(found).values()}

    assert articles(None) == {"harbour", "orchard", "undated"}
    assert articles({"as_of": "2025-01-01"}) == {"orchard", "undated"}
    assert articles({"as_of": "2025-03-10"}) == {"harbour", "orchard", "undated"}


def test_article_dates_in_one_read(store, backend_settings):
    with store.snapshot() as reader:
        assert reader.article_dates(["harbour", "orchard", "missing"]) == {
            "harbour": "2025-03-10", "orchard": "2024-11-02"}
        assert reader.article_dates([]) == {}
    with store.snapshot() as reader:  # after the chunks were read (PostgreSQL reads the dates with them)
        chunks = reader.chunks(all_chunk_ids(reader, backend_settings))
        assert {c.article_id for c in chunks.values()} == {"harbour", "orchard"}
        assert reader.article_dates(["orchard"]) == {"orchard": "2024-11-02"}
        assert reader.article_dates(["missing", "harbour"]) == {"harbour": "2025-03-10"}


def test_articles_and_sentence_runs_in_one_read_each(store):
    harbour, orchard = article_sentences(HARBOUR), article_sentences(ORCHARD)
    with store.snapshot() as reader:
        found = reader.articles_by_id(["orchard", "missing", "harbour", "orchard"])
        runs = reader.sentence_runs([(HARBOUR, 2, 3), (ORCHARD, 0, 0), (HARBOUR, 0, 1), (ORCHARD, 1, 99)])
        singles = [reader.sentences(HARBOUR, 2, 3), reader.sentences(ORCHARD, 0, 0)]
        assert reader.articles_by_id([]) == {} and reader.sentence_runs([]) == []
    assert found == {"harbour": replace(HARBOUR, story_id="harbour"),
                     "orchard": replace(ORCHARD, story_id="orchard")}
    assert [[s.sentence for s in run] for run in runs] == [
        harbour[2:4], orchard[:1], harbour[:2], orchard[1:]]
    for run, single in zip(runs, singles, strict=False):
        assert [s.sentence for s in run] == [s.sentence for s in single]
        np.testing.assert_array_equal(np.vstack([s.vector for s in run]),
                                      np.vstack([s.vector for s in single]))


@pytest.mark.parametrize("filters", [None, {"source": "Coast Gazette"}, {"as_of": "2025-01-01"}])
def test_the_four_searches_at_once_are_the_four_searches(store, filters):
    text = "harbour bridge apples cider harvest ribbon"
    query = EMBEDDER.encode([text])[0]
    with store.snapshot() as reader:
        found = reader.searches(text, lambda: query, 5, filters)
        assert found == Searches(reader.dense(query, 5, filters), reader.lexical(text, 5, filters),
                                 reader.dense_sentences(query, 5, filters),
                                 reader.lexical_sentences(text, 5, filters))
        assert reader.searches(text, query, 5, filters) == found
    assert found.dense and found.lexical and found.dense_sentences and found.lexical_sentences


def test_sentence_parses_are_read_with_the_parser_that_wrote_them(backend_settings):
    from qa.parsing import StoredParse, encode
    from tests.fakes import fake_parse

    def parsed(article: Article, parser: str) -> PreparedArticle:
        item = prepared(article, backend_settings)
        return replace(item, parses=[encode(fake_parse(s.text)) for s in item.sentences],
                       parsed_by=parser)

    def parses() -> tuple[list, list]:
        opened = open_store(backend_settings)
        try:
            with opened.snapshot() as reader:
                runs = reader.sentence_runs([(HARBOUR, 0, 99), (ORCHARD, 0, 99)])
            return [s.parse for s in runs[0]], [s.parse for s in runs[1]]
        finally:
            opened.close()

    store = open_store_for_writing(backend_settings, EMBEDDER.name, EMBEDDER.dim, variant="fp32")
    try:
        store.write([parsed(HARBOUR, "fake 1.0"), prepared(ORCHARD, backend_settings)])
        assert store.meta()["parser"] == "fake 1.0"
        harbour, orchard = parses()
        assert harbour == [StoredParse(encode(fake_parse(s.text)), "fake 1.0")
                           for s in article_sentences(HARBOUR)]
        assert orchard and set(orchard) == {None}  # written without parses
        # another parser: the parses of the one before are dropped, not mixed with the new ones
        store.write([parsed(ORCHARD, "fake 2.0")])
        assert store.meta()["parser"] == "fake 2.0"
        harbour, orchard = parses()
        assert set(harbour) == {None}
        assert [p.parser for p in orchard] == ["fake 2.0"] * len(article_sentences(ORCHARD))
    finally:
        store.close()
