"""Every benchmark runs: each one command with --quick (tiny sizes, the fake embedder where the
real model is not the point). Figures are printed, never asserted: timings on a shared machine
are noise, and a test that times things fails for reasons that are not bugs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from .conftest import ROOT


def run(module: str, tmp_path, *args: str) -> dict:
    out_json = tmp_path / f"{module}.json"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--quick", "--json", str(out_json),
                          *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    return json.loads(out_json.read_text())


def test_corpus_is_deterministic_and_news_like() -> None:
    from benchmarks.corpus import generate

    first, again = generate(50, seed=3), generate(50, seed=3)
    assert first == again and generate(50, seed=4) != first
    assert len({r["id"] for r in first}) == 50
    texts = " ".join(r["text"] for r in first)
    assert "“" in texts and "(AP PHOTO)" in texts and any(ch.isdigit() for ch in texts)
    lengths = sorted(len(r["text"]) for r in first)
    assert lengths[-1] > 3 * lengths[0]  # varied lengths


def test_ingest_benchmark_runs(tmp_path) -> None:
    figures = run("ingest", tmp_path, "--model", "fake-hash")
    assert figures["articles"] == 40 and figures["sentences"] > 0 and figures["ratio"] > 0


def test_query_latency_benchmark_runs(tmp_path) -> None:
    figures = run("query_latency", tmp_path)
    kinds = [r["index"] for r in figures["dense_search"]]
    assert kinds[0] == "flat (exact)" and all(k.startswith("HNSW ef=") for k in kinds[1:])
    assert all(0 <= r["recall_at_10"] <= 1 for r in figures["dense_search"])
    assert {"embed", "search", "answer", "ask"} <= figures["end_to_end"][0].keys()


def test_memory_benchmark_runs(tmp_path) -> None:
    figures = run("memory", tmp_path)
    assert figures["sqlite_per_chunk"] > 0 and figures["cold_start_median_s"] > 0


@pytest.mark.integration  # the LangChain side always loads the real MiniLM
@pytest.mark.skipif(importlib.util.find_spec("langchain_community") is None,
                    reason="langchain-community is a benchmark-only extra: pip install -e '.[bench]'")
def test_langchain_baseline_runs(tmp_path) -> None:
    figures = run("langchain_baseline", tmp_path, "--xquad", str(tmp_path / "none.jsonl"))
    assert figures["ingest_seconds"]["qa"] > 0 and 0 <= figures["seed eval set"]["langchain"] <= 1


def test_news_benchmark_runs(tmp_path) -> None:
    figures = run("news", tmp_path)
    assert figures["articles"] == 200 and figures["questions"] > 0
    assert figures["articles_per_s_with_grouping"] > 0 and figures["articles_per_s_without_grouping"] > 0
    assert figures["copies"] > 0 and 0 <= figures["precision"] <= 1 and 0 <= figures["recall"] <= 1
    assert figures["consensus_ms_p50"] >= 0 and figures["answer_total_ms_p50"] > 0


def test_load_benchmark_runs(tmp_path) -> None:
    figures = run("load", tmp_path)
    assert figures["bursts"][0]["statuses"] == {"200": 20}
    extractive = figures["load"]["modes"]["extractive"]
    assert extractive["answers"] > 0 and extractive["errors"] == 0
    assert figures["load"]["peak_rss_mb"] > 0 and figures["llm"].startswith("off")


def test_load_questions_are_distinct_and_from_the_articles(tmp_path) -> None:
    from benchmarks.load import make_questions

    text = ("John Healey has chaired a meeting of defence ministers in London. "
            "Maria Rossi, the health minister of Italy, announced plans on drought relief on May 2. "
            "At least 4,000 soldiers and police officers took part in the operation.")
    questions = make_questions([text])
    assert len(questions) == len(set(questions)) > 5
    assert {"Who has chaired a meeting of defence ministers in London?",
            "Who is the health minister of Italy?",
            "How many soldiers and police officers took part in the operation?"} <= set(questions)


@pytest.mark.integration  # the encoder variants are the real MiniLM's
def test_encoder_benchmark_runs(tmp_path) -> None:
    figures = run("encoder", tmp_path)
    variants = figures["variants"]
    assert set(variants) == {"fp32", "bf16"} and variants["fp32"]["cosine_min"] > 0.9999
    assert 0 < variants["bf16"]["cosine_min"] <= 1 and 0 <= variants["bf16"]["recall_at_5"]["eval"] <= 1


def test_reader_dev_drop_answer_keeps_the_article_but_not_the_answer_sentence() -> None:
    from types import SimpleNamespace

    from benchmarks.reader_dev import _holds

    def cand(text: str):
        return SimpleNamespace(sentence=SimpleNamespace(text=text))

    answers = ["John Healey"]
    assert _holds(cand("The meeting was chaired by John Healey."), answers)
    assert not _holds(cand("The meeting was chaired by the UK."), answers)
    assert not _holds(cand("Healeyville hosted the meeting."), ["Healey"])  # whole words only
