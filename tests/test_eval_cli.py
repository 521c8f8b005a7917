"""`qa eval` end to end through the CLI (fake embedder), the report files, and --compare."""

import json

import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.eval.report import format_comparison, load_metrics

from .test_evaluate import text_rows, write_rows

CONTRACT_KEYS = {"n", "exact_match", "f1", "abstention", "citation_precision", "retrieval_recall_at_k",
                 "mrr", "latency_ms_p50", "latency_ms_p95"}


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.setenv("QA_EMBEDDING__MODEL", "fake-hash")
    return CliRunner()


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """One eval run with --report and --json on a small dataset of article_text rows."""
    tmp = tmp_path_factory.mktemp("eval")
    dataset = write_rows(tmp / "small.jsonl", text_rows())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_EMBEDDING__MODEL", "fake-hash")
        result = CliRunner().invoke(main, ["eval", str(dataset), "--report", str(tmp / "rep"), "--json",
                                           "--index-dir", str(tmp / "unused"), "-k", "3"])
    assert result.exit_code == 0, result.output
    return tmp / "rep", json.loads(result.output)


def test_json_output_follows_the_contract(report_dir) -> None:
    _, printed = report_dir
    assert set(printed) >= CONTRACT_KEYS
    assert printed["n"] == 4 and printed["k"] == 3
    assert 0 <= printed["exact_match"] <= 100 and 0 <= printed["f1"] <= 100
    assert set(printed["recall_at"]) == {"1", "2", "3"}


def test_report_files_exist_and_parse(report_dir) -> None:
    directory, printed = report_dir
    report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
    assert report["metrics"] == printed
    assert report["config"]["mode"] == "extractive" and report["by_type"]
    rows = [json.loads(line) for line in (directory / "questions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2", "q3", "q4"]
    for row in rows:
        assert {"question", "gold", "answer", "citations", "scores", "retrieved"} <= set(row)
    markdown = (directory / "report.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Evaluation") and "| EM | F1 |" in markdown
    import matplotlib.pyplot as plt

    image = plt.imread(directory / "report.png")
    assert image.shape[0] > 100 and image.shape[1] > 100


def test_compare_prints_both_runs(report_dir, runner, tmp_path) -> None:
    directory, printed = report_dir
    other = {**printed, "f1": printed["f1"] + 10}
    (tmp_path / "b.json").write_text(json.dumps(other), encoding="utf-8")
    result = runner.invoke(main, ["eval", "--compare", str(directory / "report.json"),
                                  str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    f1_line = next(line for line in result.output.splitlines() if line.startswith("F1 (0-100)"))
    assert f1_line.split()[-1] == "+10.0"


def test_human_output_and_errors(runner, tmp_path) -> None:
    dataset = write_rows(tmp_path / "d.jsonl", text_rows()[:2])
    result = runner.invoke(main, ["eval", str(dataset), "-q"])
    assert result.exit_code == 0, result.output
    assert "exact match (0-100)" in result.output and "retrieval recall@5" in result.output
    result = runner.invoke(main, ["eval", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 1 and result.output.startswith("Error: eval dataset")
    result = runner.invoke(main, ["eval"])
    assert result.exit_code == 2 and "--compare" in result.output
    result = runner.invoke(main, ["eval", "--compare", str(dataset), str(dataset)])
    assert result.exit_code == 1 and "not a readable JSON report" in result.output


def test_rows_without_text_need_an_index(runner, tmp_path) -> None:
    dataset = write_rows(tmp_path / "d.jsonl", [{"question": "Who?", "answers": ["X"]}])
    result = runner.invoke(main, ["eval", str(dataset), "--index-dir", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no index in" in result.output


def test_format_comparison_and_load_metrics(tmp_path) -> None:
    a = {"n": 10, "exact_match": 40.0, "f1": 50.0, "citation_precision": 0.5}
    b = {"n": 10, "exact_match": 45.0, "f1": None, "citation_precision": 0.75}
    text = format_comparison(a, b, ("a", "b"))
    assert "+5.0" in text and "+25.0%" in text
    f1_line = next(line for line in text.splitlines() if line.startswith("F1"))
    assert f1_line.split()[-1] == "—"
    (tmp_path / "x.json").write_text('{"other": 1}', encoding="utf-8")
    with pytest.raises(Exception, match="holds no eval metrics"):
        load_metrics(tmp_path / "x.json")
