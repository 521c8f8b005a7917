"""Many LLM questions at once against one Assistant (as the web server shares it): errors,
answers from the model, "busy" fallbacks, latencies and the longest queue seen.

    .venv/bin/python -m benchmarks.llm_load [--concurrent 20] [--max-queue 4] [--index-dir DIR]

Indexes seeds/ into a temporary index unless --index-dir is given. Every question is sent at the
same moment from its own thread; the model answers one at a time, up to ``--max-queue`` wait,
and the rest must come back at once with the extractive answer and the "busy" note. The load
average is printed beside the timings (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, print_table, quiet, scratch, write_json

QUESTIONS = [
    "Who chaired the meeting?",
    "How many military planners have been developing plans?",
    "Who is the Finnish defence minister?",
    "How many Chinese citizens were fighting for Russia?",
    "Who is the Kremlin spokesman?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--max-queue", type=int, default=4)
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--gguf", type=Path, help="another GGUF than the packaged model")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    quiet()
    from qa import Assistant, index_paths, llm_queue_length, load_settings

    index_dir = args.index_dir or scratch("qa-llm-load-") / "index"
    settings = load_settings(index={"dir": index_dir},
                             llm={"max_queue": args.max_queue, "gguf_path": args.gguf})
    index_paths([ROOT / "seeds"], settings)
    assistant = Assistant(settings).warm_up("llm")
    peak = _Peak(llm_queue_length)
    barrier = threading.Barrier(args.concurrent)

    def one(i: int) -> dict[str, Any]:
        barrier.wait()
        started = time.perf_counter()
        try:
            answer = assistant.ask(QUESTIONS[i % len(QUESTIONS)], mode="llm")
        except Exception as exc:  # counted, not raised: the figure is how many there were
            return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - started}
        return {"fallback": answer.extra.get("fallback"), "seconds": time.perf_counter() - started,
                "note": bool(answer.note), "abstained": answer.abstained}

    load_before = os.getloadavg()[0]
    with ThreadPoolExecutor(args.concurrent) as pool:
        results = list(pool.map(one, range(args.concurrent)))
    peak.stop()
    figures = _figures(results, args, peak.value, load_before)
    print_table(f"{args.concurrent} concurrent LLM questions, llm.max_queue {args.max_queue}",
                [[k, v] for k, v in figures.items()], ["figure", "value"])
    write_json(args.json, figures)


def _figures(results: list[dict[str, Any]], args: Any, peak: int, load: float) -> dict[str, Any]:
    model = [r["seconds"] for r in results if "error" not in r and not r["fallback"]]
    busy = [r["seconds"] for r in results if r.get("fallback") == "busy"]
    return {
        "errors": sum("error" in r for r in results),
        "answered by the model": len(model),
        "busy fallbacks": len(busy),
        "busy fallbacks with the note": sum(r.get("fallback") == "busy" and r["note"] for r in results),
        "busy fallbacks that abstained": sum(r.get("fallback") == "busy" and r["abstained"]
                                             for r in results),
        "model failures": sum(r.get("fallback") == "error" for r in results),
        "other fallbacks": sum(r.get("fallback") not in (None, "busy", "error") for r in results),
        "longest queue seen": peak,
        "model answers, median s": round(statistics.median(model), 2) if model else None,
        "model answers, slowest s": round(max(model), 2) if model else None,
        "busy fallbacks, median s": round(statistics.median(busy), 3) if busy else None,
        "load average before": round(load, 2),
        "load average after": round(os.getloadavg()[0], 2),
    }


class _Peak:
    """The largest value a function returns while it is polled in the background."""

    def __init__(self, read: Any) -> None:
        self.value = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(read,), daemon=True)
        self._thread.start()

    def _poll(self, read: Any) -> None:
        while not self._stop.wait(0.01):
            self.value = max(self.value, read())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


if __name__ == "__main__":
    main()
