"""The bounded full-text plan (``qa.store.lexical``), on both backends: common words matching
many rows do not crowd out the row holding a question's rare word, each query ranks at most
``store.lexical_rows`` rows, and under that bound the ranking is the unbounded one."""

from __future__ import annotations

import pytest

from qa import FakeEmbedder, Settings
from qa.store.indexer import index_articles
from qa.store.protocol import open_store
from qa.types import Article
from tests.store.conftest import refresh_statistics

EMBEDDER = FakeEmbedder(name="fake-hash")
BOUND = 5
COMMON = [Article(id=f"c{i:02d}", title=f"Council budget {i}",
                  text=f"The council approved the budget on day {i} in ward {100 + i // 2}. "
                       "The council said the budget was final.")
          for i in range(24)]  # each ward number in two articles: not every listed word is common
RARE = Article(id="rare", title="Storm damage",
               text="A zeppelin drifted over the harbour during the storm. Nobody was hurt.")


def with_bound(settings: Settings, rows: int) -> Settings:
    copy = settings.model_copy(deep=True)
    copy.store.lexical_rows = rows
    return copy


@pytest.fixture
def crowded(backend_settings: Settings):
    """25 articles: 24 full of the common words, one holding the rare word."""
    settings = with_bound(backend_settings, BOUND)
    index_articles([*COMMON[:12], RARE, *COMMON[12:]], settings, embedder=EMBEDDER)
    refresh_statistics(settings)
    bounded, unbounded = open_store(settings), open_store(with_bound(settings, 10**9))
    yield bounded, unbounded
    bounded.close()
    unbounded.close()


def test_the_rare_word_picks_the_rows_when_common_words_match_many(crowded):
    bounded, _ = crowded
    question = "What did the council say about the budget and the zeppelin?"
    with bounded.snapshot() as reader:
        chunks = reader.chunks(reader.lexical(question, 10, None))
        first = reader.lexical(question, 10, None)[0]
        sentences = reader.lexical_sentences(question, 10, None)
        places = reader.sentence_places(sentences[:1])
    assert chunks[first].article_id == "rare"
    assert places[sentences[0]][:2] == ("rare", 0)


@pytest.mark.parametrize("search", ["lexical", "lexical_sentences"])
def test_each_query_ranks_at_most_the_bound(crowded, search):
    """Every word common: the rows holding all of them, then those holding the rarest, each query
    ranking at most BOUND rows, where the unbounded search returns every matching row."""
    bounded, unbounded = crowded
    with bounded.snapshot() as reader:
        found = getattr(reader, search)("council budget", 50, None)
        assert len(getattr(reader, search)("council budget", 3, None)) == 3
    with unbounded.snapshot() as reader:
        everything = getattr(reader, search)("council budget", 50, None)
    assert len(everything) == 24 * (2 if search == "lexical_sentences" else 1)
    assert 0 < len(found) <= 2 * BOUND
    assert set(found) <= set(everything)


def test_under_the_bound_the_ranking_is_the_unbounded_one(crowded):
    bounded, unbounded = crowded
    for question in ("zeppelin storm harbour", "Was anybody hurt by the storm?", "103 zeppelin"):
        with bounded.snapshot() as a, unbounded.snapshot() as b:
            assert a.lexical(question, 10, None) == b.lexical(question, 10, None)
            assert a.lexical_sentences(question, 10, None) == b.lexical_sentences(question, 10, None)
    with bounded.snapshot() as reader:
        assert reader.lexical("zeppelin storm harbour", 10, None) != []
