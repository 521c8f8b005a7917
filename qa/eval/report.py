"""Presenting an evaluation: text for the terminal, the ``--report`` files, and comparisons.

Kept apart from the runner so that ``qa.eval.runner`` stays free of formatting, and so matplotlib is
imported only when a plot is drawn (with the Agg backend: no display is needed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.errors import InputError
from qa.eval.runner import EvalResult

REPORT_FILES = ("report.md", "report.json", "questions.jsonl", "report.png")

# (label, how to read the value from a metrics dict, format)
_Row = tuple[str, Callable[[dict], Any], str]
_ROWS: list[_Row] = [
    ("questions", lambda d: d.get("n"), "{:.0f}"),
    ("exact match (0-100)", lambda d: d.get("exact_match"), "{:.1f}"),
    ("F1 (0-100)", lambda d: d.get("f1"), "{:.1f}"),
    ("EM, answerable rows", lambda d: (d.get("answerable") or {}).get("exact_match"), "{:.1f}"),
    ("F1, answerable rows", lambda d: (d.get("answerable") or {}).get("f1"), "{:.1f}"),
    ("citation precision", lambda d: d.get("citation_precision"), "{:.1%}"),
    ("citation recall", lambda d: d.get("citation_recall"), "{:.1%}"),
    ("short answer given (answered)", lambda d: d.get("short_answer_rate"), "{:.1%}"),
    ("abstained on unanswerable", lambda d: (d.get("abstention") or {}).get("recall"), "{:.1%}"),
    ("abstentions that were right", lambda d: (d.get("abstention") or {}).get("precision"), "{:.1%}"),
    ("abstained on answerable", lambda d: (d.get("abstention") or {}).get("false_rate"), "{:.1%}"),
    ("retrieval recall@1", lambda d: (d.get("recall_at") or {}).get("1"), "{:.1%}"),
    ("retrieval recall@k", lambda d: d.get("retrieval_recall_at_k"), "{:.1%}"),
    ("MRR", lambda d: d.get("mrr"), "{:.3f}"),
    ("latency p50 (ms)", lambda d: d.get("latency_ms_p50"), "{:.0f}"),
    ("latency p95 (ms)", lambda d: d.get("latency_ms_p95"), "{:.0f}"),
    ("questions per second", lambda d: d.get("questions_per_second"), "{:.2f}"),
    ("citations removed by checks", lambda d: d.get("removed_citations"), "{:.0f}"),
]


def _fmt(value: Any, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def format_summary(metrics: dict[str, Any]) -> str:
    """An aligned two-column table for the terminal."""
    k = metrics.get("k")
    lines = []
    for label, get, pattern in _ROWS:
        shown_label = label.replace("@k", f"@{k}") if k else label
        lines.append(f"{shown_label:<30} {_fmt(get(metrics), pattern)}")
    return "\n".join(lines)


def format_comparison(a: dict[str, Any], b: dict[str, Any], names: tuple[str, str]) -> str:
    """Two runs side by side, with the difference B - A."""
    width = max(12, *(len(n) for n in names))
    head = f"{'metric':<30} {names[0]:>{width}} {names[1]:>{width}} {'B - A':>10}"
    lines = [head, "-" * len(head)]
    for label, get, pattern in _ROWS:
        va, vb = get(a), get(b)
        delta = ""
        if isinstance(va, int | float) and isinstance(vb, int | float):
            delta = _fmt(vb - va, pattern.replace("{:", "{:+"))
        lines.append(f"{label:<30} {_fmt(va, pattern):>{width}} {_fmt(vb, pattern):>{width}} {delta:>10}")
    return "\n".join(lines)


def load_metrics(path: Path) -> dict[str, Any]:
    """The metrics of a saved run: a report.json, or the output of ``qa eval --json``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not a readable JSON report ({exc.__class__.__name__})") from None
    metrics = data.get("metrics", data) if isinstance(data, dict) else None
    if not isinstance(metrics, dict) or "exact_match" not in metrics:
        raise InputError(f"{path} holds no eval metrics (expected report.json or qa eval --json output)")
    return metrics


def markdown_table(metrics: dict[str, Any]) -> str:
    """The README's headline table: one row of the main figures."""
    head = ["EM", "F1", "citation precision", "abstained on unanswerable", "abstained on answerable",
            f"recall@{metrics.get('k')}", "MRR", "p50 latency (ms)"]
    ab = metrics.get("abstention") or {}
    cells = [
        _fmt(metrics.get("exact_match"), "{:.1f}"), _fmt(metrics.get("f1"), "{:.1f}"),
        _fmt(metrics.get("citation_precision"), "{:.1%}"), _fmt(ab.get("recall"), "{:.1%}"),
        _fmt(ab.get("false_rate"), "{:.1%}"), _fmt(metrics.get("retrieval_recall_at_k"), "{:.1%}"),
        _fmt(metrics.get("mrr"), "{:.3f}"), _fmt(metrics.get("latency_ms_p50"), "{:.0f}"),
    ]
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
                      "| " + " | ".join(cells) + " |"])


# ------------------------------------------------------------------ --report DIR


def write_report(result: EvalResult, directory: Path) -> dict[str, Path]:
    """Write report.md, report.json, questions.jsonl and report.png into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / name for name in REPORT_FILES}
    paths["report.json"].write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
    paths["questions.jsonl"].write_text(
        "".join(json.dumps(q.to_dict(), ensure_ascii=False) + "\n" for q in result.questions),
        encoding="utf-8")
    paths["report.md"].write_text(_markdown(result), encoding="utf-8")
    plot(result, paths["report.png"])
    return paths


def _markdown(result: EvalResult) -> str:
    c, metrics = result.config, result.metrics
    out = [
        f"# Evaluation: {c['dataset']}",
        "",
        f"Mode `{c['mode']}`, k={c['k']}, embedding model `{c['embedding_model']}`, "
        f"answered from: {'; '.join(c['indexes'])}. Finished {c['finished_at']}; "
        f"indexing {c['index_seconds']} s, answering {c['answer_seconds']} s.",
        "",
        markdown_table(metrics),
        "",
        "## All metrics",
        "",
        "```",
        format_summary(metrics),
        "```",
        "",
        "## By question type",
        "",
        "| type | n | EM | F1 | abstained |",
        "|---|---|---|---|---|",
    ]
    for name, row in result.by_type.items():
        out.append(f"| {name} | {row['n']} | {_fmt(row['exact_match'], '{:.1f}')} | "
                   f"{_fmt(row['f1'], '{:.1f}')} | {_fmt(row['abstained'], '{:.0%}')} |")
    out += ["", "## By expected answer type", "",
            "Abstention precision: share of its abstentions that were on unanswerable questions; "
            "recall: share of the unanswerable questions it abstained on.", "",
            "| answer type | n | unanswerable | EM | F1 | abstained | abstention precision | "
            "abstention recall |", "|---|---|---|---|---|---|---|---|"]
    for name, row in (metrics.get("by_answer_type") or {}).items():
        ab = row["abstention"]
        out.append(f"| {name} | {row['n']} | {row['n_unanswerable']} | "
                   f"{_fmt(row['exact_match'], '{:.1f}')} | {_fmt(row['f1'], '{:.1f}')} | "
                   f"{row['abstained']} | {_fmt(ab['precision'], '{:.0%}')} | "
                   f"{_fmt(ab['recall'], '{:.0%}')} |")
    out += ["", "## Questions it got wrong", "", *_misses(result)]
    if c.get("notes"):
        out += ["", "## Notes", "", *(f"- {note}" for note in c["notes"])]
    out += ["", "![plots](report.png)", ""]
    return "\n".join(out)


def _misses(result: EvalResult, limit: int = 40) -> list[str]:
    rows = []
    for q in result.questions:
        if q.item.answerable and q.f1 < 0.5:
            what = "abstained" if q.abstained else f"answered {_quote(q.prediction)}"
            rows.append(f"- {q.item.id}: {_quote(q.item.question)}: {what}; gold "
                        f"{' | '.join(_quote(a) for a in q.item.answers)}; first relevant chunk at "
                        f"rank {q.first_relevant_rank or 'none'}")
        elif not q.item.answerable and not q.abstained:
            rows.append(f"- {q.item.id}: {_quote(q.item.question)}: not in the articles, yet "
                        f"answered {_quote(q.prediction)}")
    shown = rows[:limit]
    if len(rows) > limit:
        shown.append(f"- … and {len(rows) - limit} more (see questions.jsonl)")
    return shown or ["None."]


def _quote(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return f"\"{text if len(text) <= limit else text[: limit - 1] + '…'}\""


def plot(result: EvalResult, path: Path) -> None:
    """Recall@k by k, EM/F1 by question type, and the latency histogram, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = result.metrics
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2))
    ks = [int(k) for k in metrics["recall_at"]]
    recalls = [metrics["recall_at"][str(k)] or 0.0 for k in ks]
    ax1.plot(ks, recalls, marker="o")
    ax1.set(title=f"Retrieval recall@k (MRR {_fmt(metrics['mrr'], '{:.3f}')})", xlabel="k",
            ylabel="share of answerable questions", ylim=(0, 1.05), xticks=ks)
    names = list(result.by_type)
    xs = range(len(names))
    ax2.bar([x - 0.2 for x in xs], [result.by_type[n]["exact_match"] or 0 for n in names], 0.4, label="EM")
    ax2.bar([x + 0.2 for x in xs], [result.by_type[n]["f1"] or 0 for n in names], 0.4, label="F1")
    ax2.set_xticks(list(xs), names, rotation=30, ha="right")
    ax2.set(title="EM and F1 by question type", ylim=(0, 100))
    ax2.legend()
    latencies = [q.latency_ms for q in result.questions]
    ax3.hist(latencies, bins=min(30, max(5, len(latencies) // 3)))
    for key, style in (("latency_ms_p50", "--"), ("latency_ms_p95", ":")):
        if metrics.get(key) is not None:
            ax3.axvline(metrics[key], color="black", linestyle=style, label=key.rsplit("_", 1)[1])
    ax3.set(title="Latency per question", xlabel="ms", ylabel="questions")
    ax3.legend()
    fig.suptitle(f"{result.config['dataset']} ({result.config['mode']}, n={metrics['n']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
