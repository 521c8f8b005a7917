"""The evaluation runner: a dataset of questions with gold answers in, metrics and rows out.

Library first: ``run_eval()`` returns an ``EvalResult``; the CLI prints it and ``qa.eval.report``
writes files from it. Rows that carry ``article_text`` are answered from a temporary index of
exactly those articles, built once per run through the same ingest path as ``qa index
FILE.jsonl``; the other rows are answered from the configured index (``--index-dir``).

Every question goes through ``Assistant.ask``, the same call the CLI and the web app make, so
the figures measure the system as users run it. The metrics themselves are pure functions in
``qa.eval.metrics``; this module only collects what they need.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.chain import Assistant
from qa.config import Settings
from qa.embeddings import Embedder, make_embedder
from qa.errors import InputError
from qa.eval import metrics as m
from qa.ingest.readers import content_id
from qa.question import analyze
from qa.store.indexer import Progress, index_paths
from qa.types import Answer

EvalProgress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total); stage is "index" or "ask"."""


@dataclass(frozen=True)
class EvalItem:
    """One dataset row (README, "Evaluation")."""

    id: str
    question: str
    answers: tuple[str, ...]
    article_id: str | None = None
    article_text: str | None = None
    article_title: str | None = None
    type: str | None = None
    as_of: dt.date | None = None  # the row's "as_of" or "question_date"; None: today
    article_date: str | None = None  # publication date of article_text (YYYY-MM-DD)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class QuestionResult:
    """What happened on one question, and its scores."""

    item: EvalItem
    answer: str
    prediction: str  # what EM/F1 score: the answer without [n] markers; "" when it abstained
    abstained: bool
    exact_match: float
    f1: float
    citations: list[dict[str, Any]]
    retrieved: list[dict[str, Any]]
    first_relevant_rank: int | None
    latency_ms: float
    timings_ms: dict[str, float]
    removed_citations: list[Any] = field(default_factory=list)
    short_answer: dict[str, Any] | None = None  # the answer's exact span, when it gave one
    answer_type: str = "other"  # the expected answer type read from the question

    def to_dict(self) -> dict[str, Any]:
        """One line of the per-question JSONL."""
        return {
            "id": self.item.id,
            "type": self.item.type,
            "as_of": self.item.as_of.isoformat() if self.item.as_of else None,
            "question": self.item.question,
            "gold": list(self.item.answers),
            "article_id": self.item.article_id,
            "answer": self.answer,
            "short_answer": self.short_answer,
            "answer_type": self.answer_type,
            "abstained": self.abstained,
            "citations": self.citations,
            "scores": {
                "exact_match": self.exact_match,
                "f1": round(self.f1, 4),
                "first_relevant_rank": self.first_relevant_rank,
                "supporting_citations": sum(c["contains_answer"] for c in self.citations),
            },
            "retrieved": self.retrieved,
            "latency_ms": round(self.latency_ms, 2),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "removed_citations": self.removed_citations,
        }


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    by_type: dict[str, dict[str, Any]]
    config: dict[str, Any]
    questions: list[QuestionResult]

    def summary(self) -> dict[str, Any]:
        """The object ``qa eval --json`` prints (README, "Evaluation")."""
        return dict(self.metrics)

    def to_dict(self) -> dict[str, Any]:
        """report.json: the run's settings, the metrics, and the breakdown by question type."""
        return {"config": self.config, "metrics": self.metrics, "by_type": self.by_type}


# ------------------------------------------------------------------ dataset


def load_dataset(path: Path) -> list[EvalItem]:
    """Read and check an eval dataset; a bad row is an InputError naming its line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"eval dataset {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"eval dataset {path} cannot be read ({exc.__class__.__name__})") from None
    items: list[EvalItem] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            items.append(_parse_row(line, f"{path}:{lineno}", f"line-{lineno}"))
    if not items:
        raise InputError(f"eval dataset {path} has no rows")
    _check_unique(items, path)
    return items


def _parse_row(line: str, where: str, default_id: str) -> EvalItem:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise InputError(f"{where}: each line must be a JSON object")
    question, answers = row.get("question"), row.get("answers")
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: \"question\" must be a non-empty string")
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise InputError(f"{where}: \"answers\" must be a list of strings (empty: unanswerable)")
    for key in ("id", "article_id", "article_text", "article_title", "type", "article_date"):
        if row.get(key) is not None and not isinstance(row[key], str | int):
            raise InputError(f"{where}: \"{key}\" must be a string, got {row[key]!r}")
    article_text = row.get("article_text")
    article_id = _opt(row.get("article_id"))
    if article_text is not None and article_id is None:
        article_id = "eval-" + content_id(str(article_text))
    return EvalItem(
        id=_opt(row.get("id")) or default_id,
        question=question,
        answers=tuple(answers),
        article_id=article_id,
        article_text=None if article_text is None else str(article_text),
        article_title=_opt(row.get("article_title")),
        type=_opt(row.get("type")),
        as_of=_row_date(row, where),
        article_date=_opt(row.get("article_date")),
    )


def _row_date(row: dict, where: str) -> dt.date | None:
    """The date a row's question is asked on: "as_of" or "question_date" (YYYY-MM-DD)."""
    key = "as_of" if row.get("as_of") not in (None, "") else "question_date"
    value = row.get(key)
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError(f"{where}: \"{key}\" must be a date (YYYY-MM-DD), got {value!r}") from None


def _opt(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _check_unique(items: list[EvalItem], path: Path) -> None:
    ids: set[str] = set()
    texts: dict[str, str] = {}
    for item in items:
        if item.id in ids:
            raise InputError(f"eval dataset {path}: id {item.id!r} occurs twice")
        ids.add(item.id)
        if item.article_text is None:
            continue
        if texts.setdefault(item.article_id or "", item.article_text) != item.article_text:
            raise InputError(f"eval dataset {path}: article {item.article_id!r} comes with two texts")


# ------------------------------------------------------------------ running


def run_eval(
    dataset: Path | Sequence[EvalItem],
    settings: Settings,
    *,
    mode: str | None = None,
    k: int | None = None,
    embedder: Embedder | None = None,
    answerers: dict[str, Any] | None = None,
    progress: EvalProgress | None = None,
) -> EvalResult:
    """Ask every question of ``dataset`` and score the answers (see the README, "Evaluation")."""
    items = load_dataset(dataset) if isinstance(dataset, str | Path) else list(dataset)
    if not items:
        raise InputError("the eval dataset has no rows")
    k = k or settings.retrieval.k
    mode = mode or settings.answer.mode
    embedder = embedder or make_embedder(settings.embedding)
    run = _Run(items, settings, mode, k, embedder, answerers, progress)
    with_text = [i for i, item in enumerate(items) if item.article_text is not None]
    from_index = [i for i, item in enumerate(items) if item.article_text is None]
    if from_index:
        run.indexes.append(str(settings.index.dir))
        run.ask_all(from_index, settings)
    if with_text:
        with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
            run.ask_all(with_text, run.temporary_index([items[i] for i in with_text], Path(tmp)))
    questions = [q for q in run.results if q is not None]
    config = _config(dataset, settings, mode, k, embedder, run)
    return EvalResult(aggregate(questions, k, run.answer_seconds), by_type(questions), config, questions)


class _Run:
    """The state of one run: results in dataset order, timings, notes."""

    def __init__(self, items: list[EvalItem], settings: Settings, mode: str, k: int,
                 embedder: Embedder, answerers: dict[str, Any] | None,
                 progress: EvalProgress | None) -> None:
        self.items, self.settings, self.mode, self.k = items, settings, mode, k
        self.embedder, self.answerers = embedder, answerers
        self.progress = progress or (lambda stage, done, total: None)
        self.results: list[QuestionResult | None] = [None] * len(items)
        self.answer_seconds = 0.0
        self.index_seconds = 0.0
        self.done = 0
        self.indexes: list[str] = []
        self.notes: list[str] = []

    def temporary_index(self, items: list[EvalItem], tmp: Path) -> Settings:
        """Index the distinct articles of ``items`` once, via the articles-JSONL reader."""
        articles: dict[str, dict[str, str]] = {}
        for item in items:
            assert item.article_id is not None and item.article_text is not None
            # a title is always given: without one the reader takes the first line as headline
            article = {"id": item.article_id, "text": item.article_text,
                       "title": item.article_title or item.article_id}
            if item.article_date:
                article["date"] = item.article_date
            articles.setdefault(item.article_id, article)
        source = tmp / "articles.jsonl"
        source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles.values()),
                          encoding="utf-8")
        settings = self.settings.model_copy(deep=True)
        settings.index.dir = tmp / "index"
        total = len(articles)
        self.progress("index", 0, total)

        def on_progress(state: Progress) -> None:
            self.progress("index", state.articles, total)

        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = index_paths([source], settings, embedder=self.embedder, progress=on_progress)
        self.index_seconds += time.perf_counter() - started
        self.notes += [f"not indexed: {e}" for e in report.errors + report.duplicates]
        self.indexes.append(f"temporary index of {len(report.indexed)} articles from the dataset")
        return settings

    def ask_all(self, positions: list[int], settings: Settings) -> None:
        assistant = Assistant(settings, embedder=self.embedder, answerers=self.answerers)
        try:
            assistant.warm_up(self.mode)  # model loading is not a question's latency
            total = len(self.items)
            self.progress("ask", self.done, total)
            for pos in positions:
                item = self.items[pos]
                started = time.perf_counter()
                answer = assistant.ask(item.question, k=self.k, mode=self.mode, as_of=item.as_of)
                elapsed = time.perf_counter() - started
                self.answer_seconds += elapsed
                self.results[pos] = score_question(item, answer, elapsed * 1000.0)
                self.done += 1
                self.progress("ask", self.done, total)
        finally:
            assistant.close()


def score_question(item: EvalItem, answer: Answer, latency_ms: float) -> QuestionResult:
    """Score one answer against its row (pure: no index, no model).

    EM and F1 read the short answer when there is one (the exact span), else the answer text
    without its markers.
    """
    if answer.abstained:
        prediction = ""
    elif answer.short_answer is not None:
        prediction = answer.short_answer.text
    else:
        prediction = m.strip_citation_markers(answer.text)
    citations = [
        {"n": c.n, "article_id": c.article_id, "sentence": c.sentence, "start": c.start, "end": c.end,
         "is_caption": c.is_caption, "contains_answer": m.contains_answer(c.sentence, item.answers)}
        for c in answer.citations
    ]
    retrieved = [{"chunk_id": h.chunk.id, "article_id": h.chunk.article_id, "score": round(h.score, 6)}
                 for h in answer.retrieved]
    rank = None
    if item.answerable:
        chunks = [(h.chunk.article_id, h.chunk.text) for h in answer.retrieved]
        rank = m.first_relevant_rank(chunks, item.answers, item.article_id)
    removed = answer.extra.get("removed_citations") or []
    return QuestionResult(
        item=item, answer=answer.text, prediction=prediction, abstained=answer.abstained,
        exact_match=m.exact_match(prediction, item.answers), f1=m.f1(prediction, item.answers),
        citations=citations, retrieved=retrieved, first_relevant_rank=rank, latency_ms=latency_ms,
        timings_ms=dict(answer.timings_ms), removed_citations=list(removed),
        short_answer=answer.short_answer.to_dict() if answer.short_answer else None,
        answer_type=analyze(item.question).answer_type,
    )


# ------------------------------------------------------------------ aggregating


def aggregate(questions: Sequence[QuestionResult], k: int, answer_seconds: float) -> dict[str, Any]:
    """The run's metrics. EM and F1 are 0-100 (SQuAD); shares, recall and MRR are 0-1."""
    answerable = [q for q in questions if q.item.answerable]
    answered = [q for q in answerable if not q.abstained]
    cited = [([c["sentence"] for c in q.citations], q.item.answers) for q in answered]
    ranks = [q.first_relevant_rank for q in answerable]
    latencies = [q.latency_ms for q in questions]
    abstention = m.abstention_scores([q.abstained for q in questions],
                                     [q.item.answerable for q in questions])
    return {
        "n": len(questions),
        "n_answerable": len(answerable),
        "n_unanswerable": len(questions) - len(answerable),
        "exact_match": _pct(m.mean([q.exact_match for q in questions])),
        "f1": _pct(m.mean([q.f1 for q in questions])),
        "answerable": {"exact_match": _pct(m.mean([q.exact_match for q in answerable])),
                       "f1": _pct(m.mean([q.f1 for q in answerable]))},
        "abstention": {key: _round(v) for key, v in abstention.items()},
        "citation_precision": _round(m.citation_precision(cited)),
        "citation_recall": _round(m.citation_recall(cited)),
        "citations_per_answer": _round(m.mean([len(q.citations) for q in questions if not q.abstained])),
        "short_answer_rate": _round(m.mean([float(q.short_answer is not None)
                                            for q in questions if not q.abstained])),
        "by_answer_type": by_answer_type(questions),
        "removed_citations": sum(len(q.removed_citations) for q in questions),
        "k": k,
        "retrieval_recall_at_k": _round(m.recall_at_k(ranks, k)),
        "recall_at": {str(i): _round(m.recall_at_k(ranks, i)) for i in range(1, k + 1)},
        "mrr": _round(m.mrr(ranks)),
        "latency_ms_p50": _round(m.percentile(latencies, 50), 1),
        "latency_ms_p95": _round(m.percentile(latencies, 95), 1),
        "latency_ms_mean": _round(m.mean(latencies), 1),
        "questions_per_second": _round(len(questions) / answer_seconds if answer_seconds else None, 2),
    }


def by_type(questions: Sequence[QuestionResult]) -> dict[str, dict[str, Any]]:
    """EM, F1 and abstention share per question type (rows without a type: "untyped")."""
    groups: dict[str, list[QuestionResult]] = {}
    for q in questions:
        groups.setdefault(q.item.type or "untyped", []).append(q)
    return {
        name: {"n": len(qs), "exact_match": _pct(m.mean([q.exact_match for q in qs])),
               "f1": _pct(m.mean([q.f1 for q in qs])),
               "abstained": _round(m.mean([float(q.abstained) for q in qs]))}
        for name, qs in sorted(groups.items())
    }


def by_answer_type(questions: Sequence[QuestionResult]) -> dict[str, dict[str, Any]]:
    """Per expected answer type (``Question.answer_type``): EM, F1, and abstention precision and
    recall (is abstaining right for this kind of question?)."""
    groups: dict[str, list[QuestionResult]] = {}
    for q in questions:
        groups.setdefault(q.answer_type, []).append(q)
    out = {}
    for name, qs in sorted(groups.items()):
        scores = m.abstention_scores([q.abstained for q in qs], [q.item.answerable for q in qs])
        out[name] = {"n": len(qs), "n_unanswerable": sum(not q.item.answerable for q in qs),
                     "exact_match": _pct(m.mean([q.exact_match for q in qs])),
                     "f1": _pct(m.mean([q.f1 for q in qs])),
                     "abstained": sum(q.abstained for q in qs),
                     "abstention": {key: _round(v) for key, v in scores.items()}}
    return out


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100.0 * value, 2)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _config(dataset: Path | Sequence[EvalItem], settings: Settings, mode: str, k: int,
            embedder: Embedder, run: _Run) -> dict[str, Any]:
    return {
        "dataset": str(dataset) if isinstance(dataset, str | Path) else "(in memory)",
        "mode": mode,
        "k": k,
        "embedding_model": embedder.name,
        "encoder_variant": embedder.variant,
        "chunking": settings.chunking.model_dump(),
        "answer": settings.answer.model_dump(exclude={"mode", "max_question_chars"}),
        "indexes": run.indexes,
        "notes": run.notes,
        "index_seconds": round(run.index_seconds, 2),
        "answer_seconds": round(run.answer_seconds, 2),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
