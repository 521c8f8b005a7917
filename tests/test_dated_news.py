"""Date-relative questions over the fictional dated articles of tests/data/dated_news: retrieval
prefers the article of the question's week and never returns one published after its date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from qa import Answer, Assistant, Citation, index_paths
from qa.chain import as_of_extra
from qa.types import Question

DATA = Path(__file__).parent / "data" / "dated_news"
ROWS = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines() if line]
DATES = {json.loads(line)["id"]: json.loads(line).get("date")
         for line in (DATA / "articles.jsonl").read_text().splitlines() if line}


@pytest.fixture(scope="module")
def dated_assistant(tmp_path_factory, request):
    from qa import FakeEmbedder, load_settings

    directory = tmp_path_factory.mktemp("dated") / "index"
    settings = load_settings(index={"dir": directory}, embedding={"model": "fake-hash"})
    embedder = FakeEmbedder(name="fake-hash")
    report = index_paths([DATA / "articles.jsonl"], settings, embedder=embedder)
    assert len(report.indexed) == len(DATES)
    assistant = Assistant(settings, embedder=embedder)
    yield assistant
    assistant.close()


ANSWERABLE = [r for r in ROWS if r["answers"]]


@pytest.mark.parametrize("row", ANSWERABLE, ids=[r["id"] for r in ANSWERABLE])
def test_the_best_evidence_is_from_the_article_of_the_questions_dates(dated_assistant, row) -> None:
    turn = dated_assistant.prepare(row["question"], as_of=row["question_date"])
    assert turn.evidence[0].article.id == row["article_id"]
    if row["id"] != "library-undated":  # undated: no date preference, found on its words alone
        assert turn.hits[0].chunk.article_id == row["article_id"]


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_nothing_published_after_the_as_of_date_is_used(dated_assistant, row) -> None:
    turn = dated_assistant.prepare(row["question"], as_of=row["question_date"])
    as_of = row["question_date"]
    used = {h.chunk.article_id for h in turn.hits} | {c.article.id for c in turn.evidence}
    assert used and all(DATES[a] is None or DATES[a] <= as_of for a in used)


def test_the_same_question_on_other_days_finds_other_articles(dated_assistant) -> None:
    storm = [r for r in ROWS if r["id"].startswith("storm-w")]
    found = {dated_assistant.prepare(r["question"], as_of=r["question_date"]).hits[0].chunk.article_id
             for r in storm}
    assert found == {r["article_id"] for r in storm} and len(found) == 4


def test_undated_articles_still_answer(dated_assistant) -> None:
    turn = dated_assistant.prepare("How many readers does the national library's new reading room "
                                   "seat?", as_of="2025-04-11")
    assert "library-undated" in {h.chunk.article_id for h in turn.hits}
    assert turn.evidence[0].article.id == "library-undated"


def test_the_window_is_on_the_question(dated_assistant) -> None:
    turn = dated_assistant.prepare(ROWS[0]["question"], as_of="2025-03-21")
    question: Question = turn.question
    assert question.as_of == dt.date(2025, 3, 21)
    assert question.window is not None and question.window.phrase == "this week"
    assert (question.window.start, question.window.end) == (dt.date(2025, 3, 15), dt.date(2025, 3, 21))


def _answer_citing(*dates: str | None) -> Answer:
    citations = tuple(Citation(n=i + 1, article_id=f"a{i}", title="t", date=d, source=None,
                               sentence="s.", start=0, end=2) for i, d in enumerate(dates))
    return Answer(question="q", text="x [1]", abstained=False, citations=citations)


def test_an_old_answer_says_as_of_when() -> None:
    question = Question("Who?", "Who?", as_of=dt.date(2025, 6, 30))
    extra = as_of_extra(question, _answer_citing("2025-04-08", "2025-03-01T10:00Z", None), 30)
    assert extra["as_of"]["newest_evidence"] == "2025-04-08"
    assert extra["as_of_note"].startswith("As of 2025-04-08")
    assert extra["as_of"]["note"] == extra["as_of_note"]
    fresh = as_of_extra(question, _answer_citing("2025-06-01"), 30)
    assert "as_of_note" not in fresh and fresh["as_of"]["note"] is None
    undated = as_of_extra(question, _answer_citing(None), 30)
    assert undated["as_of"]["newest_evidence"] is None and "as_of_note" not in undated


def test_the_answer_json_carries_the_as_of_date(dated_assistant) -> None:
    answer = dated_assistant.ask("Which governor declared a state of emergency after Storm Delphine?",
                                 as_of="2025-06-30")
    as_of = answer.to_dict()["as_of"]
    assert as_of["date"] == "2025-06-30" and as_of["window"] is None
    if answer.citations:  # the note follows the newest cited article
        assert as_of["newest_evidence"] == max(c.date for c in answer.citations if c.date)
        assert (as_of["note"] is not None) == (as_of["newest_evidence"] < "2025-05-31")


def test_without_a_date_the_question_is_asked_today(dated_assistant) -> None:
    turn = dated_assistant.prepare("Which breed won Best in Show?")
    assert turn.question.as_of == dt.date.today()
