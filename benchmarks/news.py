"""What the news behaviours cost: grouping wire copies at ingest, and the checks at query time.

Ingest: a synthetic wire set (``benchmarks.wire``: originals from ``benchmarks.corpus`` and their
edited reprints, about half of all rows) is indexed part by part into two indexes, one with
``index.group_copies`` on and one with it off, alternating which goes first, so that both see the
same machine load. The default embedder is the fake hash embedder: it costs almost nothing, so the
difference between the two runs is the grouping itself and nothing hides it (with the real MiniLM
the encoder dominates ingest; pass --model to see that). The grouping's precision and recall
against the generator's truth are printed too.

Query time: questions about the generated articles are answered by the extractive answerer on the
grouped index; the three news steps are timed inside the real pipeline: one slot per story after
fusion (``qa.retrieve.OneSlot``), "also in" on the citations (``qa.answer.reprints``) and the
consensus over candidate answers (``qa.answer.consensus``: combine + apply).

    python -m benchmarks.news                  # 2,000 articles, 200 questions, fake embedder
    python -m benchmarks.news --quick          # 200 articles, 20 questions: a smoke run
"""

from __future__ import annotations

import argparse
import functools
import itertools
import random
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks.common import median, percentile, print_table, quiet, scratch, settings_for, write_json
from benchmarks.corpus import write_jsonl
from benchmarks.wire import wire_set

FAKE = "fake-hash"


def ingest(rows: list[dict], model: str, part: int) -> dict:
    from qa import Index, index_paths, make_embedder

    work = scratch("qa-bench-news-")
    parts = [write_jsonl(rows[i : i + part], work / f"part{i // part:03d}.jsonl")
             for i in range(0, len(rows), part)]
    configs = {flag: settings_for(work / f"index-{flag}", model, index={"group_copies": flag})
               for flag in (False, True)}
    embedder = make_embedder(configs[True].embedding)
    embedder.encode(["warm up"])
    seconds = {False: 0.0, True: 0.0}
    cpu = {False: 0.0, True: 0.0}  # this process's CPU time: steadier than wall time on a shared machine
    for n, path in enumerate(parts):
        for flag in ((False, True) if n % 2 == 0 else (True, False)):
            started, started_cpu = time.perf_counter(), time.process_time()
            index_paths([path], configs[flag], embedder=embedder)
            seconds[flag] += time.perf_counter() - started
            cpu[flag] += time.process_time() - started_cpu
    index = Index.open(configs[True])
    predicted = {a["id"]: a["story"] for a in index.articles()}
    info = index.info()
    index.close()
    precision, recall = _precision_recall(predicted, {r["id"]: r["story"] for r in rows})
    return {"settings": configs[True], "embedder": embedder, "seconds_without": seconds[False],
            "seconds_with": seconds[True], "cpu_without": cpu[False], "cpu_with": cpu[True],
            "stories": info["stories"], "copies": info["copies"],
            "true_stories": len({r["story"] for r in rows}), "precision": precision, "recall": recall}


def _precision_recall(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float]:
    def pairs(stories: dict[str, str]) -> set[tuple[str, str]]:
        groups = defaultdict(list)
        for article, story in stories.items():
            groups[story].append(article)
        return {p for members in groups.values() for p in itertools.combinations(sorted(members), 2)}

    got, want = pairs(predicted), pairs(truth)
    return len(got & want) / max(1, len(got)), len(got & want) / max(1, len(want))


_AFFECTED = re.compile(r"Officials in ([\w ]+?) said [\w.,$ ]+? people were affected by ([\w' ]+?)\.")
_READY = re.compile(r"“We are ready to act on ([\w' ]+?),” [\w ]+? told reporters in ([\w ]+?)\.")


def make_questions(rows: list[dict], n: int, seed: int) -> list[str]:
    """How-many and who questions whose answers are in the generated articles (and their copies)."""
    found = set()
    for row in rows:
        for city, topic in _AFFECTED.findall(row["text"]):
            found.add(f"How many people were affected by {topic}, according to officials in {city}?")
        for topic, city in _READY.findall(row["text"]):
            found.add(f"Who told reporters in {city} they were ready to act on {topic}?")
    questions = sorted(found)
    random.Random(seed).shuffle(questions)
    return questions[:n]


class Timer:
    """Wraps functions where the pipeline looks them up and adds up their time per answer."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = defaultdict(float)

    def wrap(self, module, name: str, label: str) -> None:
        real = getattr(module, name)

        @functools.wraps(real)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.ms[label] += (time.perf_counter() - started) * 1000.0

        setattr(module, name, timed)


def query_checks(settings, embedder, questions: list[str]) -> dict:
    import qa.answer.extractive as extractive
    import qa.chain as chain
    import qa.retrieve as retrieve
    from qa import Assistant

    timer = Timer()
    for method in ("__init__", "chunks", "sentences"):
        timer.wrap(retrieve.OneSlot, method, "one_slot")
    timer.wrap(chain, "with_reprints", "also_in")
    timer.wrap(extractive.consensus, "combine", "consensus")
    timer.wrap(extractive.consensus, "apply", "consensus")
    assistant = Assistant(settings, embedder=embedder).warm_up()
    for q in questions[:5]:
        assistant.ask(q)  # warm caches of the first calls (spaCy, SQLite pages)
    per_step: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    for q in questions:
        timer.ms.clear()
        answer = assistant.ask(q)
        for step in ("one_slot", "also_in", "consensus"):
            per_step[step].append(timer.ms.get(step, 0.0))
        per_step["news_total"].append(sum(timer.ms.values()))
        per_step["answer_total"].append(answer.timings_ms["total"])
        statuses[answer.sources.status if answer.sources else "abstained or no span"] += 1
    assistant.close()
    return {"questions": len(questions), "statuses": dict(statuses),
            **{f"{step}_ms_p50": median(v) for step, v in per_step.items()},
            **{f"{step}_ms_p95": percentile(v, 95) for step, v in per_step.items()}}


def run(args: argparse.Namespace) -> dict:
    quiet()
    rows = wire_set(args.articles, seed=args.seed)
    result = ingest(rows, args.model, args.part)
    n = len(rows)
    without, with_ = result["seconds_without"], result["seconds_with"]
    figures = {
        "articles": n, "model": args.model, "part": args.part,
        "articles_per_s_without_grouping": n / without, "articles_per_s_with_grouping": n / with_,
        "grouping_ms_per_article": (with_ - without) / n * 1000.0, "ingest_time_ratio": with_ / without,
        "cpu_seconds_without_grouping": result["cpu_without"],
        "cpu_seconds_with_grouping": result["cpu_with"],
        "grouping_cpu_ms_per_article": (result["cpu_with"] - result["cpu_without"]) / n * 1000.0,
        "stories": result["stories"], "copies": result["copies"], "true_stories": result["true_stories"],
        "precision": result["precision"], "recall": result["recall"],
    }
    print_table(f"Ingest: {n} articles ({result['true_stories']} true stories), embedder {args.model}",
                [["group_copies off", n / without, without, result["cpu_without"]],
                 ["group_copies on", n / with_, with_, result["cpu_with"]]],
                ["", "articles/s", "wall s", "CPU s"])
    print(f"\ngrouping: {figures['grouping_ms_per_article']:.2f} ms per article wall, "
          f"{figures['grouping_cpu_ms_per_article']:.2f} ms CPU "
          f"(ingest time x{figures['ingest_time_ratio']:.2f}); {result['stories']} stories, "
          f"{result['copies']} copies; pairwise precision {result['precision']:.3f}, "
          f"recall {result['recall']:.3f}")
    questions = make_questions(rows, args.questions, seed=args.seed)
    if not questions:  # --questions 0: the ingest figures only
        write_json(args.json, figures)
        return figures
    checks = query_checks(result["settings"], result["embedder"], questions)
    figures.update(checks)
    print_table(f"Query-time checks per answer, {checks['questions']} questions, ms p50 / p95",
                [[step, checks[f"{step}_ms_p50"], checks[f"{step}_ms_p95"]]
                 for step in ("one_slot", "also_in", "consensus", "news_total", "answer_total")],
                ["step", "p50 ms", "p95 ms"])
    print(f"\nanswers by sources status: {checks['statuses']}")
    write_json(args.json, figures)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--part", type=int, default=250, help="articles per interleaved part")
    parser.add_argument("--model", default=FAKE, help="embedding model (default: the fake hash embedder)")
    parser.add_argument("--seed", type=int, default=21,
                        help="corpus seed (the copy thresholds were chosen on seeds 5, 8 and 11)")
    parser.add_argument("--quick", action="store_true", help="200 articles, 20 questions: a smoke run")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.articles, args.questions, args.part = min(args.articles, 200), min(args.questions, 20), 100
    run(args)


if __name__ == "__main__":
    main()
