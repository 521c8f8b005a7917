"""Load: many concurrent clients against a real `qa serve` on 127.0.0.1, as a public site sees them.

Two measurements, against servers this script starts and stops itself (loopback only):

1. burst: N questions sent at the same moment (default 200), none asked before; when each one
   finishes, counted from the moment the burst was sent (min, p50, p90, max). With
   ``--baseline REF`` a second server runs the code of another revision of this repository
   (``git archive REF``) over the same index, and the two get the same bursts in turn,
   ``--rounds`` times (new questions each round), so the figures before and after come from
   one run and a busy moment of the machine hits both; the medians of the rounds are the
   figures.
2. load: C clients (default 200) for D seconds (default 60). Each client asks a new question,
   waits for the answer, asks the next. ``--llm-clients`` of them ask in llm mode when the LLM
   extra and its model are installed (otherwise the run says so and every client is
   extractive). Reported: answers per second, latency p50/p95/p99 per mode, errors (anything
   but 200 and 429; must be 0), 429s apart, server memory (peak RSS).

Each client has an address of its own in X-Forwarded-For (the server runs with
``server.proxy_hops=1``), so per-client rate limits apply as behind a proxy. Questions are made
from the indexed articles' sentences by templates and are all distinct: no answer comes from a
cache. The corpus is the seed article plus generated news articles (``benchmarks.corpus``).

    .venv/bin/python -m benchmarks.load [--clients 200] [--seconds 60] [--baseline main] [--llm-clients 2]
    .venv/bin/python -m benchmarks.load --quick      # 10 clients, 4 s, fake embedder (the smoke test)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.common import ROOT, percentile, print_table, quiet, scratch, write_json
from benchmarks.corpus import generate

SEED = ROOT / "seeds" / "uk-urges-coalition-ukraine-planning.txt"
HOST = "127.0.0.1"  # never anything else: this script loads only a server it started itself
GRACE_S = 120.0  # after the run, answers in flight may finish for this long


# ------------------------------------------------------------------ corpus and questions


def write_corpus(folder: Path, articles: int) -> list[str]:
    folder.mkdir(parents=True)
    (folder / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    rows = generate(articles, seed=12)
    with open(folder / "generated.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return [SEED.read_text(encoding="utf-8")] + [r["text"] for r in rows]


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")
_WHO = re.compile(r"^((?:[A-Z][\w.'’-]+ ){1,4})((?:has |have |had |was |is |will |would )?[a-z]+\b.*)$")
_ROLE = re.compile(r"^[A-Z][\w’'-]+ [A-Z][\w’'-]+, the ([a-z ]+ of [A-Z][\w ]+), ([a-z]+ .+)$")
_COUNT = re.compile(r"\b\d[\d,.]* ((?:million |billion )?[a-z]+(?:,? [a-z]+){0,8})")
_WORD = re.compile(r"[\w’'-]+")
_NOT_NAMES = set("The A An Asked At In On It This That We He She They But And Officials Critics".split())
_EDGE = set("a an and after at by for from in of on or the to with was were is are said".split())


def make_questions(texts: list[str], seed: int = 7) -> list[str]:
    """Distinct questions from the articles' sentences: "Who …?" when a sentence opens with a
    name and a verb, "How many …?" after a number, and "What do the articles say about …?" over
    windows of its words (trimmed of small words at either end)."""
    found: dict[str, None] = {}
    for text in texts:
        for sentence in _SENTENCE.split(" ".join(text.split())):
            sentence = sentence.strip().rstrip(".!?")
            who = _WHO.match(sentence)
            name = who.group(1).split() if who else []
            if who and len(name) >= 2 and name[0] not in _NOT_NAMES and len(who.group(2).split()) >= 3 \
                    and not set(who.group(2)) & set("“”\"("):
                found["Who " + " ".join(who.group(2).split()[:14]) + "?"] = None
            role = _ROLE.match(sentence)
            if role:  # "Name Surname, the minister of X, announced …"
                found[f"Who is the {role.group(1)}?"] = None
                found[f"Who {role.group(2)}?"] = None
            for count in _COUNT.finditer(sentence):
                if len(count.group(1).split()) >= 3 and count.group(1).split()[0] not in _EDGE | {"to", "a"}:
                    found[f"How many {count.group(1)}?"] = None
            for window in _windows(_WORD.findall(sentence)):
                found[f"What do the articles say about {window}?"] = None
    questions = list(found)
    random.Random(seed).shuffle(questions)
    return questions


def _windows(words: list[str]) -> list[str]:
    out = []
    for size in (3, 5):
        for start in range(0, max(1, len(words) - size + 1), 2):
            window = words[start:start + size]
            while window and window[0].lower() in _EDGE:
                window = window[1:]
            while window and window[-1].lower() in _EDGE:
                window = window[:-1]
            if len(window) >= 2:
                out.append(" ".join(window))
    return out


# ------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def knows_setting(tree: Path, name: str) -> bool:
    return name in (tree / "qa" / "config.py").read_text(encoding="utf-8")


def extract_revision(ref: str, target: Path) -> Path:
    """The tree of ``ref`` (a revision of this repository) in ``target``, via git archive."""
    archive = target.with_suffix(".tar")
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), ref], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


@dataclass
class Server:
    tree: Path
    index_dir: Path
    work: Path
    model: str
    gguf: Path | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log: object = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        env.update(PYTHONPATH=str(self.tree), PYTHONDONTWRITEBYTECODE="1", QA_EMBEDDING__MODEL=self.model,
                   QA_SERVER__UPLOAD_DIR=str(self.work / "uploads"),
                   QA_SERVER__FEEDBACK_PATH=str(self.work / "feedback.jsonl"))
        if knows_setting(self.tree, "proxy_hops"):
            env["QA_SERVER__PROXY_HOPS"] = "1"
        if self.gguf:
            env["QA_LLM__GGUF_PATH"] = str(self.gguf)
        return env

    def __enter__(self) -> Server:
        self.work.mkdir(parents=True, exist_ok=True)
        self.log = open(self.work / "server.log", "w")  # closed in __exit__
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--index-dir", str(self.index_dir), "--host", HOST,
             "--port", str(self.port)], cwd=self.work, env=self.env(), stdout=self.log,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"qa serve ({self.tree}) exited; see {self.work / 'server.log'}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("qa serve was not ready in 300 s")
            time.sleep(0.3)

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()  # type: ignore[attr-defined]


class PeakMemory:
    """Samples the server's resident memory (with its children) every 0.25 s."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                procs = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except Exception:  # the process ended
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------ clients


def client_limits(connections: int) -> httpx.Limits:
    # Idle connections are dropped before uvicorn's keep-alive timeout (5 s) closes them, so a
    # request is never sent on a connection the server is closing (a client-side ReadError).
    return httpx.Limits(max_connections=connections + 8, max_keepalive_connections=connections + 8,
                        keepalive_expiry=2.0)


def client_headers(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"10.{n // 250 % 250}.{n % 250}.7"}


async def burst(url: str, questions: list[str]) -> dict:
    """All questions at the same moment; when each finished, in seconds from the send."""
    limits = client_limits(len(questions))
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
        start = time.perf_counter()

        async def one(n: int, question: str) -> tuple[float, int]:
            r = await http.post("/api/ask", json={"question": question}, headers=client_headers(5000 + n))
            return time.perf_counter() - start, r.status_code

        results = await asyncio.gather(*(one(n, q) for n, q in enumerate(questions)))
    done = [t for t, status in results if status == 200]
    statuses: dict[int, int] = {}
    for _, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"sent": len(questions), "statuses": statuses, "min_s": min(done, default=float("nan")),
            "p50_s": percentile(done, 50), "p90_s": percentile(done, 90),
            "max_s": max(done, default=float("nan"))}


async def load(url: str, clients: int, seconds: float, questions: list[str], llm_clients: int) -> dict:
    queue = iter(questions)
    records: list[Record] = []
    started = time.perf_counter()
    stop_at = started + seconds
    limits = client_limits(clients)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:

        async def client(n: int) -> None:
            mode = "llm" if n < llm_clients else "extractive"
            while time.perf_counter() < stop_at:
                question = next(queue, None)
                if question is None:
                    return
                t0 = time.perf_counter()
                try:
                    r = await http.post("/api/ask", json={"question": question, "mode": mode},
                                        headers=client_headers(n))
                    status, body = r.status_code, r.text[:200]
                except httpx.HTTPError as exc:
                    status, body = -1, repr(exc)[:200]
                now = time.perf_counter()
                records.append(Record(mode, status, now - t0, now - started, body if status != 200 else ""))
                if status == 429:  # a polite client waits as told
                    wait = float(r.headers.get("retry-after", "1"))
                    await asyncio.sleep(max(0.0, min(wait, stop_at - time.perf_counter())))

        tasks = [asyncio.create_task(client(n)) for n in range(clients)]
        _, unfinished = await asyncio.wait(tasks, timeout=seconds + GRACE_S)
        for task in unfinished:
            task.cancel()
    return summarize(records, seconds, len(unfinished), questions_left=next(queue, None) is not None)


@dataclass(frozen=True)
class Record:
    mode: str
    status: int
    latency_s: float
    finished_s: float  # from the start of the run
    error: str


def summarize(records: list[Record], seconds: float, cut: int, questions_left: bool) -> dict:
    """Throughput counts answers finished within the run; latencies include those that were in
    flight at its end and finished during the grace period."""
    out: dict = {"seconds": seconds, "cut_at_end": cut, "ran_out_of_questions": not questions_left,
                 "modes": {}}
    for mode in sorted({r.mode for r in records}):
        mine = [r for r in records if r.mode == mode]
        ok = [r.latency_s for r in mine if r.status == 200]
        errors = [r for r in mine if r.status not in (200, 429)]
        out["modes"][mode] = {
            "answers": len(ok), "per_s": round(sum(1 for r in mine if r.status == 200
                                                   and r.finished_s <= seconds) / seconds, 2),
            "p50_ms": percentile(ok, 50) * 1000, "p95_ms": percentile(ok, 95) * 1000,
            "p99_ms": percentile(ok, 99) * 1000,
            "rate_limited_429": sum(1 for r in mine if r.status == 429), "errors": len(errors),
            "error_examples": sorted({f"{r.status} {r.error}" for r in errors})[:5]}
    return out


def server_stages(url: str, mode: str = "extractive") -> dict[str, float]:
    """Mean milliseconds per stage, from the server's own /metrics histograms."""
    text = httpx.get(url + "/metrics", timeout=30).text
    found: dict[str, dict[str, float]] = {}
    pattern = rf'qa_answer_seconds_(sum|count){{mode="{mode}",stage="(\w+)"}} ([0-9.e+-]+)'
    for kind, stage, value in re.findall(pattern, text):
        found.setdefault(stage, {})[kind] = float(value)
    return {stage: 1000 * v["sum"] / v["count"] for stage, v in found.items() if v.get("count")}


# ------------------------------------------------------------------ main


def llm_model(gguf: Path | None) -> tuple[Path | None, str]:
    """(gguf or None for the packaged model, why not) — whether llm mode can run here."""
    if importlib.util.find_spec("xllamacpp") is None:
        return None, "the llm extra is not installed (make install-llm)"
    if gguf is not None:
        return gguf, ""
    from qa import DependencyError
    from qa.llm.local import packaged_parts

    try:
        packaged_parts()
    except DependencyError as exc:
        return None, str(exc)
    return None, ""


def build_index(work: Path, model: str, articles: int) -> tuple[Path, list[str]]:
    texts = write_corpus(work / "articles", articles)
    index_dir = work / "index"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("QA_")}, "PYTHONPATH": str(ROOT),
           "QA_EMBEDDING__MODEL": model}
    subprocess.run([sys.executable, "-m", "qa", "index", str(work / "articles"),
                    "--index-dir", str(index_dir), "-q"], cwd=ROOT, env=env, check=True)
    return index_dir, texts


def run_bursts(servers: dict[str, Server], questions: list[str], size: int, rounds: int) -> list[dict]:
    """``rounds`` bursts per server, alternating servers within a round (same questions for both
    in a round, new ones each round), so that a busy moment of the machine hits both alike."""
    out = []
    for r in range(rounds):
        batch = questions[r * size:(r + 1) * size]
        for label, server in servers.items():
            out.append({**asyncio.run(burst(server.url, batch)), "server": label, "round": r + 1,
                        "load_average": round(os.getloadavg()[0], 1)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--burst", type=int, default=200, help="questions in the burst (0: none)")
    parser.add_argument("--baseline", help="a git revision to compare the burst against, e.g. main")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per server, alternating")
    parser.add_argument("--repeat", type=int, default=0,
                        help="bursts of this many distinct questions, repeated (0: all new)")
    parser.add_argument("--llm-clients", type=int, default=2, help="clients asking in llm mode")
    parser.add_argument("--gguf", type=Path, help="a GGUF for llm mode instead of the packaged model")
    parser.add_argument("--articles", type=int, default=150, help="generated articles beside the seed")
    parser.add_argument("--quick", action="store_true", help="10 clients, 4 s, fake embedder")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    quiet()
    if args.quick:
        args.clients, args.seconds, args.burst, args.articles, args.llm_clients = 10, 4.0, 20, 20, 0
        args.rounds = 1
    if args.clients > 1000 or args.seconds > 600 or args.burst > 1000 or args.rounds > 10:
        raise SystemExit("bounded: at most 1000 clients, 600 s, a burst of 1000, 10 rounds")
    model = "fake-hash" if args.quick else "sentence-transformers/all-MiniLM-L6-v2"
    work = scratch("qa-load-")
    index_dir, texts = build_index(work, model, args.articles)
    questions = make_questions(texts)
    print(f"{len(questions)} distinct questions from {len(texts)} articles; model {model}")
    figures: dict = {"model": model, "clients": args.clients, "load_average_start": os.getloadavg()[0]}
    burst_qs, questions = questions[:args.burst * args.rounds], questions[args.burst * args.rounds:]
    if args.repeat:  # as in a test of the same few questions asked over and over
        burst_qs = [burst_qs[i % args.repeat] for i in range(args.burst * args.rounds)]
    gguf, why_not = llm_model(args.gguf) if args.llm_clients else (None, "--llm-clients 0")
    llm_clients = 0 if why_not else args.llm_clients
    figures["llm"] = "on" if llm_clients else f"off: {why_not}"
    with Server(ROOT, index_dir, work / "srv", model, gguf=gguf) as server:
        with contextlib.ExitStack() as baseline:  # stopped before the load phase
            servers = {}
            if args.baseline:
                tree = extract_revision(args.baseline, work / "baseline")
                base = Server(tree, index_dir, work / "srv-base", model)
                servers[args.baseline] = baseline.enter_context(base)
            servers["this tree"] = server
            figures["bursts"] = run_bursts(servers, burst_qs, args.burst, args.rounds) if args.burst else []
        if not (args.clients and args.seconds):
            report(figures, args)
            write_json(args.json, figures)
            return
        if llm_clients:  # load the model before the clock starts
            httpx.post(server.url + "/api/ask", json={"question": "Who chaired the meeting?", "mode": "llm"},
                       headers=client_headers(9999), timeout=600)
        with PeakMemory(server.proc.pid) as memory:
            figures["load"] = asyncio.run(
                load(server.url, args.clients, args.seconds, questions, llm_clients))
        figures["load"]["peak_rss_mb"] = round(memory.peak / 2**20)
        figures["load"]["server_stages"] = server_stages(server.url)
        figures["load"]["load_average_end"] = os.getloadavg()[0]
    report(figures, args)
    write_json(args.json, figures)


def report(figures: dict, args: argparse.Namespace) -> None:
    bursts = figures["bursts"]
    if bursts:
        rows = [[b["server"], b["round"], b["load_average"], b["min_s"], b["p50_s"], b["p90_s"], b["max_s"],
                 json.dumps(b["statuses"])] for b in bursts]
        for label in dict.fromkeys(b["server"] for b in bursts):
            mine = [b for b in bursts if b["server"] == label]
            rows.append([label, "median", "", *(statistics.median(b[k] for b in mine)
                                                for k in ("min_s", "p50_s", "p90_s", "max_s")), ""])
        what = f"{args.repeat} questions repeated" if args.repeat else "new questions"
        print_table(f"burst: {args.burst} {what} sent at once; when they finished (s from sending)",
                    rows, ["server", "round", "load avg", "min", "p50", "p90", "max", "statuses"])
    load_ = figures.get("load")
    if not load_:
        return
    averages = f"{figures['load_average_start']:.1f} at the start, {load_['load_average_end']:.1f} at the end"
    print_table(f"load: {args.clients} clients for {args.seconds:g} s (LLM {figures['llm']}; load average "
                f"{averages})",
                [[mode, m["answers"], m["per_s"], m["p50_ms"], m["p95_ms"], m["p99_ms"], m["errors"],
                  m["rate_limited_429"]] for mode, m in load_["modes"].items()],
                ["mode", "answers", "per s", "p50 ms", "p95 ms", "p99 ms", "errors", "429"])
    print(f"  server peak RSS {load_['peak_rss_mb']} MB; requests cut at the end: {load_['cut_at_end']}"
          + ("; ran out of questions" if load_["ran_out_of_questions"] else ""))
    for mode, m in load_["modes"].items():
        for example in m["error_examples"]:
            print(f"  {mode} error: {example}")
    stages = load_.get("server_stages", {})
    if stages:
        print("  server-side means (extractive): " + ", ".join(f"{k} {v:.0f} ms" for k, v in stages.items()))


if __name__ == "__main__":
    main()
