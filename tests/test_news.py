"""News behaviour on the fictional fixture: one slot per story in retrieval, "also in" on
citations, sources that disagree, and figures that change over time."""

from __future__ import annotations

import json

import pytest

from qa import Assistant, Index, index_paths
from qa.answer.reprints import with_reprints
from qa.types import Citation

from .test_copies import FIXTURE


@pytest.fixture
def news_index(settings, fake_embedder):
    report = index_paths([FIXTURE], settings, embedder=fake_embedder)
    assert len(report.indexed) == 12
    return settings


def with_retrieval(settings, **changes):
    return settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update=changes)})


TOLL = "How many people have the Tarrow valley floods killed?"


def test_a_story_gets_one_slot(news_index, fake_embedder) -> None:
    def hits(one_slot: bool) -> list[tuple[str, str]]:
        assistant = Assistant(with_retrieval(news_index, one_slot_per_story=one_slot), embedder=fake_embedder)
        docs = assistant.retriever.invoke(TOLL, k=5)
        return [(d.metadata["article_id"], d.metadata["story_id"]) for d in docs]

    crowded, one_slot = hits(False), hits(True)
    wire_articles = {a for a, s in crowded if s == "mpa-tarrow-floods"}
    assert len(wire_articles) >= 2  # without the step, reprints of the wire story take several slots
    stories: dict[str, set[str]] = {}
    for article, story in one_slot:
        stories.setdefault(story, set()).add(article)
    assert all(len(articles) == 1 for articles in stories.values())
    assert len(one_slot) == 5 and len(stories) > len({s for _, s in crowded})
    assert {"calder-toll-rises", "lantern-toll-50"} <= {a for a, _ in one_slot}


def citation_of(index: Index, article_id: str, words: str) -> Citation:
    with index.snapshot() as reader:
        article = reader.article(article_id)
        assert article is not None
        sentence = next(s.sentence for s in reader.sentences(article, 0, 10_000) if words in s.sentence.text)
    return Citation(n=1, article_id=article_id, title=article.title, date=article.date,
                    source=article.source, sentence=sentence.text, start=sentence.start, end=sentence.end)


COPIES = {"mpa-tarrow-floods", "harlow-tarrow-floods", "eastmoor-millbeck-shelters",
          "northgate-tarrow-what-we-know"}


def test_a_citation_lists_the_copies_that_carry_its_sentence(news_index) -> None:
    index = Index.open(news_index)
    quote = "rose faster than anyone"
    [cited] = with_reprints(index, [citation_of(index, "eastmoor-millbeck-shelters", quote)])
    # every copy prints the quote (one of them with a changed word)
    assert set(cited.also_in) == COPIES - {"eastmoor-millbeck-shelters"}
    # the column quotes it too, but it is another story: no "also in"
    [column] = with_reprints(index, [citation_of(index, "harlow-flood-defences-column", quote)])
    assert column.also_in == ()
    # the trimmed copy cut the insurers' paragraph
    [insurers] = with_reprints(index, [citation_of(index, "mpa-tarrow-floods", "Insurers estimate")])
    assert set(insurers.also_in) == {"harlow-tarrow-floods"}


def test_answers_carry_also_in(news_index, fake_embedder) -> None:
    answer = Assistant(news_index, embedder=fake_embedder).ask("Who chairs the national flood committee?")
    obj = json.loads(json.dumps(answer.to_dict()))
    assert all(isinstance(c["also_in"], list) for c in obj["citations"])
    wire = [c for c in obj["citations"] if c["article_id"] in COPIES]
    assert wire and all(set(c["also_in"]) == COPIES - {c["article_id"]} for c in wire)
