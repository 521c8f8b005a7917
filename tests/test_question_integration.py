"""Question understanding, dates and evidence with the real packaged models (MiniLM, spaCy)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from qa import Assistant, index_paths, load_settings

pytestmark = pytest.mark.integration

DATA = Path(__file__).parent / "data" / "dated_news"


def test_what_did_healey_say_ranks_his_statements_first(real_assistant) -> None:
    turn = real_assistant.prepare("What did Healey say?")
    assert turn.question.answer_type == "statement" and turn.question.speaker == "Healey"
    best = turn.evidence[0]
    assert best.speaker is not None and "Healey" in best.speaker
    start, end = best.quote_span
    quote = best.article.text[start:end]
    assert len(quote.split()) >= 5 and best.sentence.start <= start < end <= best.sentence.end
    assert not best.sentence.is_caption


@pytest.fixture(scope="module")
def dated_assistant(tmp_path_factory):
    settings = load_settings(index={"dir": tmp_path_factory.mktemp("dated-real") / "index"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index_paths([DATA / "articles.jsonl"], settings)
    assistant = Assistant(settings)
    yield assistant
    assistant.close()


ROWS = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines() if line]


@pytest.mark.parametrize("row", [r for r in ROWS if r["answers"]], ids=lambda r: r["id"])
def test_real_retrieval_picks_the_article_of_the_questions_dates(dated_assistant, row) -> None:
    turn = dated_assistant.prepare(row["question"], as_of=row["question_date"])
    assert turn.hits[0].chunk.article_id == row["article_id"]
    assert turn.evidence[0].article.id == row["article_id"]
