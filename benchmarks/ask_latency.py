"""Median latency of `qa ask`, in-process with the models loaded, over 20 seed questions.

    .venv/bin/python benchmarks/ask_latency.py [--index-dir index] [--repeat 3]

Indexes seeds/ into the index directory first if needed. Two states, measured in alternation in
one run so that both see the same machine load:
- cold: every cache is cleared before each question, so each figure includes embedding the
  question, analysing it and parsing every evidence sentence;
- warm server: the question's own caches are cleared, but the reader keeps the parses of stored
  sentences, as a server does after it has answered other questions about the same articles
  (warmed here with the tuning questions of benchmarks/data/seed_dev.jsonl, none of them timed).
Prints the median and p95 of the total time per question and its split into retrieval and
answering, for each state.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Assistant, index_paths, load_settings  # noqa: E402 (after the path set-up)

QUESTIONS = [
    "Who chaired the meeting?",
    "Where did Healey speak?",
    "How many countries sent defence ministers?",
    "How many military planners have been developing plans?",
    "What did Rustem Umerov say?",
    "Who is the Finnish defence minister?",
    "Who is the Swedish defence minister?",
    "Which countries underlined the key role of the United States?",
    "What did Kaja Kallas say?",
    "How many countries will gather at NATO on Friday?",
    "Who will chair the meeting on Friday?",
    "When did Zelenskiy accuse Russia?",
    "How many Chinese citizens were fighting for Russia?",
    "Who is the Kremlin spokesman?",
    "What did Peskov say about China?",
    "Did the United States take part?",
    "What are Russian forces preparing?",
    "What partnership has China declared with Russia?",
    "What is the capital of France?",
    "Who won the football match?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=Path("index"))
    parser.add_argument("--repeat", type=int, default=3, help="passes over the 20 questions")
    args = parser.parse_args()
    settings = load_settings(index={"dir": args.index_dir})
    index_paths([Path("seeds")], settings)
    assistant = Assistant(settings).warm_up()
    warm_up = [json.loads(line)["question"] for line in
               (ROOT / "benchmarks" / "data" / "seed_dev.jsonl").read_text().splitlines() if line]
    runs: dict[str, dict[str, list[float]]] = {
        state: {"total": [], "retrieve": [], "answer": []} for state in ("cold", "warm server")}
    for _ in range(args.repeat):  # the two states alternate pass by pass
        for state, timings in runs.items():
            assistant.clear_caches()
            if state == "warm server":
                for other in warm_up:
                    assistant.ask(other)
            for question in QUESTIONS:
                assistant.clear_caches(answerers=state == "cold")
                t0 = time.perf_counter()
                result = assistant.ask(question)
                timings["total"].append((time.perf_counter() - t0) * 1000)
                timings["retrieve"].append(result.timings_ms["retrieve"])
                timings["answer"].append(result.timings_ms["answer"])
    for state, timings in runs.items():
        totals = timings["total"]
        p95 = statistics.quantiles(totals, n=20)[-1]
        print(f"qa ask, in-process, {state}, {len(QUESTIONS)} questions x {args.repeat}: "
              f"median {statistics.median(totals):.1f} ms, p95 {p95:.1f} ms "
              f"(retrieve median {statistics.median(timings['retrieve']):.1f} ms, "
              f"answer median {statistics.median(timings['answer']):.1f} ms)")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
