"""Median latency of `qa ask`, in-process with the models loaded, over 20 seed questions.

    .venv/bin/python benchmarks/ask_latency.py [--index-dir index] [--repeat 3]

Indexes seeds/ into the index directory first if needed. Caches are cleared before each
question, so every figure includes embedding the question and finding entities. Prints the median
and p95 of the total time per question and its split into retrieval and answering.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa import Assistant, index_paths, load_settings

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
    totals, retrieve, answer = [], [], []
    for _ in range(args.repeat):
        for question in QUESTIONS:
            assistant.clear_caches()  # every question pays for its embedding and entities
            t0 = time.perf_counter()
            result = assistant.ask(question)
            totals.append((time.perf_counter() - t0) * 1000)
            retrieve.append(result.timings_ms["retrieve"])
            answer.append(result.timings_ms["answer"])
    p95 = statistics.quantiles(totals, n=20)[-1]
    print(f"qa ask, in-process, {len(QUESTIONS)} questions x {args.repeat}: "
          f"median {statistics.median(totals):.1f} ms, p95 {p95:.1f} ms "
          f"(retrieve median {statistics.median(retrieve):.1f} ms, "
          f"answer median {statistics.median(answer):.1f} ms)")


if __name__ == "__main__":
    main()
