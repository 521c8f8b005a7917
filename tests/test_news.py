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


ARRESTS = "How many people were arrested at the Selmark port protest?"


def test_sources_that_disagree_are_both_cited(news_index, fake_embedder) -> None:
    answer = Assistant(news_index, embedder=fake_embedder).ask(ARRESTS, as_of="2025-04-12")
    assert answer.text.startswith("Sources differ: ") and "155 [" in answer.text and "150 [" in answer.text
    sides = {c.article_id for c in answer.citations}
    assert "calder-selmark-arrests" in sides and sides & {"mpa-selmark-arrests", "harlow-selmark-arrests"}
    obj = json.loads(json.dumps(answer.to_dict()))["sources"]
    assert obj["status"] == "disagree" and obj["agree"] == 1
    assert [(d["sources"], d["date"]) for d in obj["disagree"]] == [(1, "2025-04-10")]


@pytest.mark.parametrize(("as_of", "expected", "status"), [
    ("2025-04-06", "50 [1], up from 42 on 4 April [2]", "updated"),
    ("2025-04-04", "42 [1], up from 30 on 3 April [2]", "updated"),
    ("2025-04-03", "30 [1]", "single"),
])
def test_a_changing_figure_is_given_as_of_the_question_date(news_index, fake_embedder, as_of, expected,
                                                            status) -> None:
    answer = Assistant(news_index, embedder=fake_embedder).ask(TOLL, as_of=as_of)
    assert answer.text == expected
    assert answer.sources is not None and answer.sources.status == status
    assert answer.short_answer is not None and answer.short_answer.text == expected.split()[0]
    assert all(c.date is not None and c.date <= as_of for c in answer.citations)
    if status == "single":  # the wire story, printed four times, is one source
        assert answer.sources.agree == 1 and len(answer.citations[0].also_in) == 3


def test_independent_sources_that_agree_are_counted(news_index, fake_embedder) -> None:
    answer = Assistant(news_index, embedder=fake_embedder).ask("Who chairs the national flood committee?")
    # the name, with or without the title the articles give her ("Emergency Minister")
    assert answer.short_answer is not None and answer.short_answer.text.endswith("Orla Fenwick")
    assert answer.sources is not None and (answer.sources.status, answer.sources.agree) == ("agree", 2)
    cited = {c.article_id for c in answer.citations}
    assert "calder-toll-rises" in cited and cited & COPIES  # both sources are cited


def test_the_terminal_shows_stories_disagreement_and_copies(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from qa.cli import main

    monkeypatch.setenv("QA_EMBEDDING__MODEL", "fake-hash")
    runner, idx = CliRunner(), str(tmp_path / "idx")
    assert runner.invoke(main, ["index", str(FIXTURE), "--index-dir", idx]).exit_code == 0
    info = runner.invoke(main, ["info", "--index-dir", idx, "--articles"]).output
    assert "stories: 8" in info and "copies: 4" in info
    assert "harlow-selmark-arrests" in info and "(copy in story mpa-selmark-arrests)" in info
    out = runner.invoke(main, ["ask", ARRESTS, "--index-dir", idx]).output
    assert out.startswith("Sources differ: ") and "(sources differ — this answer: 1 source;" in out
    assert "also in 1 other article: " in out  # the wire story's reprint


@pytest.fixture(scope="module")
def real_news(tmp_path_factory):
    from qa import load_settings

    settings = load_settings(index={"dir": tmp_path_factory.mktemp("news") / "index"})
    index_paths([FIXTURE], settings)
    return Assistant(settings).warm_up()


@pytest.mark.integration
def test_the_three_behaviours_with_the_real_models(real_news) -> None:
    arrests = real_news.ask(ARRESTS, as_of="2025-04-12")
    assert arrests.sources is not None and arrests.sources.status == "disagree"
    assert "155 [" in arrests.text and "150 [" in arrests.text
    for as_of, expected in (("2025-04-06", "50 [1], up from 42 on 4 April [2]"),
                            ("2025-04-04", "42 [1], up from 30 on 3 April [2]")):
        assert real_news.ask(TOLL, as_of=as_of).text == expected
    first = real_news.ask(TOLL, as_of="2025-04-03")
    assert first.text.startswith("30 [1]") and len(first.citations[0].also_in) == 3
    docs = real_news.retriever.invoke(TOLL)
    stories = [d.metadata["story_id"] for d in docs]
    by_story = {s: {d.metadata["article_id"] for d in docs if d.metadata["story_id"] == s} for s in stories}
    assert all(len(articles) == 1 for articles in by_story.values())
