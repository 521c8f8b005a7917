"""Latency of the web app, measured from outside as a client sees it.

Starts `qa serve` in a subprocess over an index of the seed article (built in a temp dir with
the real packaged model unless --index-dir is given), then prints:
  - ready: seconds from starting `qa serve` to its first successful GET /api/health
  - first token / full answer through POST /api/ask/stream (NDJSON), timed from sending the
    request to the first token line and to the final answer line:
      cold    the seed question, first request after ready
      repeat  the seed question N more times (median, p90): the Assistant caches the query
              embedding and spaCy's entities per sentence, so this is the warm steady state
      unseen  each question of seeds/eval.jsonl once (or a built-in list of 12 when it is
              missing): questions not asked before (median, p90)
  - the same for POST /api/ask (full answer only), repeated seed question.

    .venv/bin/python benchmarks/serve_latency.py [--runs 20] [--index-dir index]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "uk-urges-coalition-ukraine-planning.txt"
QUESTION = "Who chaired the meeting?"
EVAL = ROOT / "seeds" / "eval.jsonl"
# Used when seeds/eval.jsonl is not there: questions about the seed article, none asked before.
FALLBACK = [
    "Who is Ukraine's defence minister?", "Who is the Finnish Defence Minister?",
    "Who is Sweden's defence minister?", "Who is the Dutch Defence Minister?",
    "Who is the EU foreign policy chief?", "Who is the Kremlin spokesman?",
    "Who is the president of Ukraine?", "Which countries underlined the key role of the United States?",
    "Who will chair the meeting on Friday?", "Where was the meeting of defence ministers held?",
    "How many military planners have been developing plans?",
    "How many Chinese citizens were fighting for Russia?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_index(directory: Path) -> None:
    subprocess.run([sys.executable, "-m", "qa", "index", str(SEED), "--index-dir", str(directory), "-q"],
                   cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def start(index_dir: Path, port: int, work: Path) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QA_SERVER__UPLOAD_DIR": str(work / "uploads"),
           "QA_SERVER__FEEDBACK_PATH": str(work / "feedback.jsonl")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--index-dir", str(index_dir),
                             "--port", str(port)], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/health"
    while True:
        if proc.poll() is not None:
            raise SystemExit("qa serve exited before it was ready")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.05)


def stream_once(client: httpx.Client, question: str = QUESTION) -> tuple[float, float, str]:
    t0 = time.perf_counter()
    first = None
    with client.stream("POST", "/api/ask/stream", json={"question": question}) as r:
        for line in r.iter_lines():
            if not line:
                continue
            event = json.loads(line)
            if event["type"] == "token" and first is None:
                first = time.perf_counter() - t0
            elif event["type"] == "answer":
                return first or 0.0, time.perf_counter() - t0, event["answer"]["answer"]
    raise RuntimeError("no answer event")


def ask_once(client: httpx.Client) -> float:
    t0 = time.perf_counter()
    client.post("/api/ask", json={"question": QUESTION}).raise_for_status()
    return time.perf_counter() - t0


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms   (n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--index-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        index_dir = args.index_dir.resolve() if args.index_dir else work / "index"
        if args.index_dir is None:
            build_index(index_dir)
        port = free_port()
        proc, ready = start(index_dir, port, work)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                cold_first, cold_full, answer = stream_once(client)
                firsts, fulls = [], []
                for _ in range(args.runs):
                    f, t, _ = stream_once(client)
                    firsts.append(f)
                    fulls.append(t)
                plain = [ask_once(client) for _ in range(args.runs)]
                questions = FALLBACK if not EVAL.exists() else [
                    json.loads(line)["question"] for line in EVAL.read_text().splitlines() if line.strip()]
                unseen = [stream_once(client, q) for q in questions if q != QUESTION]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"question: {QUESTION!r} -> {answer!r}")
    print(f"qa serve to ready (GET /api/health 200): {ready:.1f} s")
    print(f"cold first request (stream): first token {cold_first * 1000:.1f} ms, "
          f"full answer {cold_full * 1000:.1f} ms")
    print(f"repeat  /api/ask/stream first token: {summary(firsts)}")
    print(f"repeat  /api/ask/stream full answer: {summary(fulls)}")
    print(f"repeat  /api/ask        full answer: {summary(plain)}")
    print(f"unseen  /api/ask/stream first token: {summary([u[0] for u in unseen])}")
    print(f"unseen  /api/ask/stream full answer: {summary([u[1] for u in unseen])}")


if __name__ == "__main__":
    main()
