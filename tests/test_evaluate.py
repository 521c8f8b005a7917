"""The eval runner: dataset checks, scoring one answer, aggregation, and whole runs with the fake
embedder and a fake entity extractor (no model is loaded)."""

import datetime as dt
import json
from pathlib import Path

import pytest

from qa import Answer, Chunk, Citation, EvalItem, Hit, InputError, load_eval_dataset, run_eval
from qa.answer.extractive import ExtractiveAnswerer
from qa.eval import runner as evaluate_module
from qa.eval.runner import aggregate, score_question
from tests.fakes import ScriptedAnswerer

from .conftest import SEED_ID
from .fakes import fake_parser

ARTICLES = {
    "bakery": ("The bakery on Mill Street opened in 1998. Its owner, Maria Lopez, bakes 400 loaves "
               "every morning. The bakery closes on Sundays."),
    "harbour": ("The harbour was dredged in 2021 at a cost of 3 million euros. Fishermen said the work "
                "let larger boats return. The mayor, Tom Berg, called it a turning point."),
}


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def text_rows() -> list[dict]:
    def row(i, q, answers, art):
        return {"id": f"q{i}", "question": q, "answers": answers, "article_id": art,
                "article_text": ARTICLES[art], "type": "who" if q.startswith("Who") else "what"}

    return [
        row(1, "Who owns the bakery on Mill Street?", ["Maria Lopez"], "bakery"),
        row(2, "How many loaves does the owner bake every morning?", ["400"], "bakery"),
        row(3, "Who is the mayor who called the dredging a turning point?", ["Tom Berg"], "harbour"),
        row(4, "What did the new football stadium cost?", [], "harbour"),
    ]


def fake_answerers(settings) -> dict:
    return {"extractive": ExtractiveAnswerer(settings, parser=fake_parser)}


# ------------------------------------------------------------------ dataset


@pytest.mark.parametrize(("line", "message"), [
    ("not json", ":2: not JSON"),
    ("[1, 2]", ":2: each line must be a JSON object"),
    ('{"answers": []}', ':2: "question" must be a non-empty string'),
    ('{"question": "Q?", "answers": "Healey"}', ':2: "answers" must be a list of strings'),
    ('{"question": "Q?", "answers": [], "id": "a"}', "id 'a' occurs twice"),
    ('{"question": "Q?", "answers": [], "article_id": "x", "article_text": "Other."}', "two texts"),
    ('{"question": "Q?", "answers": [], "question_date": "last week"}',
     ':2: "question_date" must be a date'),
    ('{"question": "Q?", "answers": [], "as_of": "2025-02-30"}', ':2: "as_of" must be a date'),
])
def test_bad_dataset_rows_are_one_clear_error(tmp_path, line, message) -> None:
    path = tmp_path / "d.jsonl"
    first = '{"id": "a", "question": "Q?", "answers": [], "article_id": "x", "article_text": "One."}'
    path.write_text(first + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("?", r"\?")):
        load_eval_dataset(path)


def test_missing_and_empty_datasets(tmp_path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_eval_dataset(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="has no rows"):
        load_eval_dataset(tmp_path / "empty.jsonl")


def test_dataset_defaults(tmp_path) -> None:
    path = write_rows(tmp_path / "d.jsonl", [{"question": "Q?", "answers": ["A"], "article_text": "T."}])
    (item,) = load_eval_dataset(path)
    assert item.id == "line-1" and item.answerable
    assert item.article_id.startswith("eval-")  # articles without an id get a stable one


def test_seed_eval_set_loads() -> None:
    items = load_eval_dataset(Path(__file__).resolve().parent.parent / "seeds" / "eval.jsonl")
    assert len(items) >= 40 and all(i.article_id == SEED_ID for i in items)


# ------------------------------------------------------------------ scoring one answer


def _citation(n: int, sentence: str) -> Citation:
    return Citation(n=n, article_id="a", title="T", date=None, source=None, sentence=sentence,
                    start=0, end=len(sentence))


def _hit(cid: int, article: str, text: str) -> Hit:
    return Hit(chunk=Chunk(article_id=article, first_sentence=0, last_sentence=0, text=text, id=cid),
               score=1.0 / cid, title="T")


def test_score_question_by_hand() -> None:
    item = EvalItem(id="x", question="Who chaired it?", answers=("John Healey",), article_id="a")
    answer = Answer(
        question=item.question, text="Healey said [1][2]", abstained=False,
        citations=(_citation(1, "John Healey chaired it."), _citation(2, "It rained.")),
        retrieved=(_hit(7, "b", "John Healey elsewhere"), _hit(8, "a", "nothing"),
                   _hit(9, "a", "John Healey chaired it.")),
        timings_ms={"total": 12.0}, extra={"removed_citations": [3]},
    )
    result = score_question(item, answer, 15.0)
    assert result.prediction == "Healey said"  # markers are not answer tokens
    assert result.exact_match == 0.0
    assert result.f1 == pytest.approx(0.5)  # 1 common token of 2 and 2
    assert [c["contains_answer"] for c in result.citations] == [True, False]
    assert result.first_relevant_rank == 3  # rank 1 holds the answer but comes from article "b"
    assert result.removed_citations == [3]
    row = result.to_dict()
    assert row["gold"] == ["John Healey"] and row["retrieved"][0]["chunk_id"] == 7
    assert row["scores"]["supporting_citations"] == 1


def test_abstention_scores_as_empty_prediction() -> None:
    unanswerable = EvalItem(id="u", question="Q?", answers=())
    answer = Answer(question="Q?", text="I could not find this.", abstained=True)
    result = score_question(unanswerable, answer, 1.0)
    assert result.prediction == "" and result.exact_match == 1.0 and result.f1 == 1.0
    assert result.first_relevant_rank is None


def test_aggregate_by_hand() -> None:
    a = EvalItem(id="a", question="Q1?", answers=("Healey",), article_id="x")
    u = EvalItem(id="u", question="Q2?", answers=())
    right = score_question(a, Answer("Q1?", "Healey [1]", False, (_citation(1, "Healey spoke."),
                                                                 _citation(2, "Rain."))), 10.0)
    right.first_relevant_rank = 2
    wrong = score_question(u, Answer("Q2?", "Brussels [1]", False, (_citation(1, "Brussels."),)), 30.0)
    metrics = aggregate([right, wrong], k=3, answer_seconds=0.5)
    assert metrics["n"] == 2 and metrics["n_answerable"] == 1
    assert metrics["exact_match"] == 50.0  # 1 of 2: answering the unanswerable one scores 0
    assert metrics["answerable"] == {"exact_match": 100.0, "f1": 100.0}
    assert metrics["citation_precision"] == 0.5  # answerable rows only: 1 of 2 sentences
    assert metrics["citation_recall"] == 1.0
    assert metrics["abstention"] == {"recall": 0.0, "precision": None, "false_rate": 0.0}
    assert metrics["recall_at"] == {"1": 0.0, "2": 1.0, "3": 1.0}
    assert metrics["mrr"] == 0.5
    assert metrics["latency_ms_p50"] == 20.0 and metrics["latency_ms_p95"] == 29.0
    assert metrics["questions_per_second"] == 4.0


def test_short_answer_is_what_em_and_f1_score() -> None:
    from qa.types import ShortAnswer

    item = EvalItem(id="s", question="Who chaired the meeting?", answers=("John Healey",))
    short = ShortAnswer("John Healey", "a", 10, 21)
    answer = Answer(item.question, "John Healey, the minister [1]", False, (_citation(1, "x"),),
                    short_answer=short)
    result = score_question(item, answer, 1.0)
    assert result.prediction == "John Healey" and result.exact_match == 1.0
    assert result.to_dict()["short_answer"] == short.to_dict()
    assert result.answer_type == "person"
    sentence = score_question(item, Answer(item.question, "John Healey, the minister [1]", False), 1.0)
    assert sentence.prediction == "John Healey, the minister" and sentence.exact_match == 0.0
    metrics = aggregate([result, sentence], k=1, answer_seconds=1.0)
    assert metrics["short_answer_rate"] == 0.5


def test_abstention_precision_and_recall_per_answer_type() -> None:
    who = EvalItem(id="w", question="Who won?", answers=("Ann",))
    who_not = EvalItem(id="w2", question="Who lost?", answers=())
    many = EvalItem(id="m", question="How many came?", answers=("3",))
    abstained = Answer("q", "I could not find this.", True)
    rows = [score_question(who, abstained, 1.0), score_question(who_not, abstained, 1.0),
            score_question(many, Answer("q", "3 [1]", False), 1.0)]
    by_type = aggregate(rows, k=1, answer_seconds=1.0)["by_answer_type"]
    assert set(by_type) == {"person", "number"}
    person = by_type["person"]
    assert person["n"] == 2 and person["n_unanswerable"] == 1 and person["abstained"] == 2
    assert person["abstention"] == {"recall": 1.0, "precision": 0.5, "false_rate": 1.0}
    assert by_type["number"]["abstention"] == {"recall": None, "precision": None, "false_rate": 0.0}
    assert by_type["number"]["exact_match"] == 100.0


# ------------------------------------------------------------------ whole runs


def test_evaluate_against_an_index(seed_index, fake_embedder, tmp_path) -> None:
    rows = [
        {"id": "a", "question": "How many military planners have been developing plans?",
         "answers": ["200"], "article_id": SEED_ID, "type": "how_many"},
        {"id": "b", "question": "What is the capital of Peru?", "answers": [], "type": "unanswerable"},
    ]
    result = run_eval(write_rows(tmp_path / "d.jsonl", rows), seed_index, embedder=fake_embedder,
                      answerers=fake_answerers(seed_index))
    first = result.questions[0]
    assert first.prediction == "200" and first.exact_match == 1.0
    assert first.first_relevant_rank is not None and first.citations
    assert result.metrics["n"] == 2 and set(result.by_type) == {"how_many", "unanswerable"}
    assert result.config["indexes"] == [str(seed_index.index.dir)]


def test_article_text_rows_get_one_temporary_index(settings, fake_embedder, tmp_path, monkeypatch):
    calls = []
    real = evaluate_module.index_paths

    def counting(paths, s, **kwargs):
        calls.append(s.index.dir)
        return real(paths, s, **kwargs)

    monkeypatch.setattr(evaluate_module, "index_paths", counting)
    progress = []
    result = run_eval(write_rows(tmp_path / "d.jsonl", text_rows()), settings, embedder=fake_embedder,
                      answerers=fake_answerers(settings), progress=lambda *a: progress.append(a))
    assert len(calls) == 1 and not calls[0].exists()  # built once, removed afterwards
    assert not Path(settings.index.dir).exists()  # the configured index was never touched
    assert result.config["indexes"] == ["temporary index of 2 articles from the dataset"]
    assert [q.item.id for q in result.questions] == ["q1", "q2", "q3", "q4"]
    assert [q.prediction for q in result.questions[1:3]] == ["400", "Tom Berg"]
    assert result.questions[2].first_relevant_rank == 1
    assert ("index", 2, 2) in progress and progress[-1] == ("ask", 4, 4)


def test_mixed_rows_and_llm_mode_pass_through(seed_index, fake_embedder, tmp_path) -> None:
    def script(question, candidates):
        cand = candidates[0]
        cite = Citation(1, cand.article.id, cand.article.title, None, None, cand.sentence.text,
                        cand.sentence.start, cand.sentence.end)
        return Answer(question.text, "Maria Lopez [1]", False, (cite,), mode="llm",
                      extra={"removed_citations": [2, 3]})

    rows = [text_rows()[0], {"id": "s", "question": "Who chaired the meeting?",
                             "answers": ["John Healey"], "article_id": SEED_ID}]
    result = run_eval(write_rows(tmp_path / "d.jsonl", rows), seed_index, embedder=fake_embedder,
                      mode="llm", answerers={"llm": ScriptedAnswerer("llm", script)})
    assert result.config["mode"] == "llm"
    assert [q.exact_match for q in result.questions] == [1.0, 0.0]
    assert result.metrics["removed_citations"] == 4
    assert len(result.config["indexes"]) == 2


def test_rows_carry_their_question_date_to_the_assistant(settings, fake_embedder, tmp_path) -> None:
    asked = []

    def script(question, candidates):
        asked.append(question)
        return Answer(question=question.text, text="x", abstained=True)

    rows = [
        {"id": "d1", "question": "Who won on Sunday?", "answers": ["Ann"], "article_id": "a",
         "article_text": "Ann won on Sunday.", "article_date": "2025-04-06",
         "question_date": "2025-04-11"},
        {"id": "d2", "question": "Who won?", "answers": ["Ann"], "article_id": "a",
         "article_text": "Ann won on Sunday.", "as_of": "2025-05-01", "question_date": "2025-01-01"},
        {"id": "d3", "question": "Who won?", "answers": ["Ann"], "article_id": "a",
         "article_text": "Ann won on Sunday."},
    ]
    result = run_eval(write_rows(tmp_path / "d.jsonl", rows), settings, embedder=fake_embedder,
                      answerers={"extractive": ScriptedAnswerer("extractive", script)})
    assert [q.as_of for q in asked] == [dt.date(2025, 4, 11), dt.date(2025, 5, 1), dt.date.today()]
    assert asked[0].window is not None and asked[0].window.start == dt.date(2025, 4, 6)
    assert result.questions[0].to_dict()["as_of"] == "2025-04-11"
    assert result.questions[2].to_dict()["as_of"] is None
    assert result.questions[0].first_relevant_rank == 1  # the dated article, not after its date
