"""Query latency, p50 and p95, in process with the models loaded, split into embed / search / answer.

Two parts:

1. End to end on real indexes of the generated corpus (the packaged MiniLM, spaCy), at about 1k
   and 10k chunks (subsets of the 2,000-article index that ``benchmarks.ingest`` builds; built
   here if missing). ``ask`` is the whole ``Assistant.ask``; the split calls the same parts
   one by one: embed (the encoder on the question), search (FAISS + FTS5 BM25 + fusion + reading
   the candidate sentences, in one snapshot; the FAISS part alone is shown too) and answer (the
   extractive answerer).
2. Dense search at 1k, 10k, 100k and 1M chunks on synthetic vectors drawn from a Gaussian fitted to
   the real chunk vectors (their mean and covariance, so the spread and the intrinsic dimension
   are those of MiniLM), queried by the real question vectors. The index type is what
   ``VectorIndex.build`` picks with the default ``index.approximate_above``; recall@10 against
   exact search is reported for it. Each search asks for ``retrieval.candidates`` ids, as the
   retriever does.

Targets (2 cores): extractive ask p50 < 50 ms at 10k chunks; dense search < 10 ms at 1M chunks
with an approximate index, recall@10 >= 0.95.

    python -m benchmarks.query_latency                      # the full run (1M build: minutes)
    python -m benchmarks.query_latency --quick              # fake embedder, small sizes: a smoke run
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import corpus
from benchmarks.common import REAL_MODEL, percentile, print_table, quiet, scratch, settings_for, write_json

TARGET_ASK_P50_MS = 50.0
TARGET_SEARCH_1M_MS = 10.0
TARGET_RECALL = 0.95


def make_questions(n: int, seed: int) -> list[str]:
    """News questions over the generated corpus's people, places, topics and numbers."""
    r = random.Random(seed)
    templates = [
        lambda: f"Who {r.choice(corpus.VERBS)} plans on {r.choice(corpus.TOPICS)}?",
        lambda: f"How many people were affected by {r.choice(corpus.TOPICS)} in {r.choice(corpus.CITIES)}?",
        lambda: f"When will {r.choice(corpus.COUNTRIES)} meet again to discuss {r.choice(corpus.TOPICS)}?",
        lambda: f"What did {r.choice(corpus.ORGS)} say about {r.choice(corpus.TOPICS)}?",
        lambda: f"Where did {r.choice(corpus.FIRST)} {r.choice(corpus.LAST)} speak to reporters?",
        lambda: f"Why was the decision on {r.choice(corpus.TOPICS)} criticised?",
    ]
    return [r.choice(templates)() for _ in range(n)]


# ------------------------------------------------------------------ real indexes


def ensure_corpus_index(index_dir: Path, model: str, articles: int) -> Path:
    if (index_dir / "qa.sqlite").is_file():
        return index_dir
    from qa import index_paths

    print(f"building {index_dir} from {articles} generated articles (once) ...", flush=True)
    work = scratch("qa-bench-corpus-")
    jsonl = corpus.write_jsonl(corpus.generate(articles), work / "corpus.jsonl")
    index_paths([jsonl], settings_for(index_dir, model))
    return index_dir


def subset_index(source: Path, target: Path, model: str, chunks: int) -> int:
    """A copy of ``source`` keeping the first articles up to about ``chunks`` chunks."""
    from qa import Index

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    index = Index.open(settings_for(target, model))
    with index.snapshot() as reader:
        rows = reader.con.execute(
            "SELECT article_id, count(*) FROM chunks GROUP BY article_id ORDER BY article_id").fetchall()
    kept, drop = 0, []
    for article_id, count in rows:
        if kept + count <= chunks or kept == 0:
            kept += count
        else:
            drop.append(article_id)
    if drop:
        index.write([], remove=drop)
    index.close()
    return kept


def end_to_end(index_dir: Path, model: str, questions: list[str], warm: list[str]) -> dict:
    from qa import Assistant
    from qa.answer.evidence import load_candidates
    from qa.answer.protocol import final_answer
    from qa.question import analyze
    from qa.retrieve import hybrid_search

    settings = settings_for(index_dir, model)
    assistant = Assistant(settings).warm_up()
    for q in warm:  # first calls pay one-off costs (allocations, caches of the libraries)
        assistant.ask(q)
    ask_ms = []
    for q in questions:
        assistant.clear_caches()  # every figure includes embedding the question and finding entities
        started = time.perf_counter()
        assistant.ask(q)
        ask_ms.append(_ms(started))
    r = assistant.settings.retrieval
    parts: dict[str, list[float]] = {"embed": [], "search": [], "dense": [], "answer": []}
    answerer = assistant.answerer(None)
    for q in questions:
        assistant.clear_caches()
        t0 = time.perf_counter()
        qvec = assistant.embedder.encode([q])[0]
        t1 = time.perf_counter()
        with assistant.index.snapshot() as reader:
            hits = hybrid_search(assistant.index, q, qvec, k=r.k, candidates=r.candidates, rrf_k=r.rrf_k)
            candidates = load_candidates(assistant.index, hits, q, qvec)
            t2 = time.perf_counter()
            reader.dense(qvec, r.candidates, None)
            t3 = time.perf_counter()
        final_answer(answerer.stream(analyze(q), candidates))
        t4 = time.perf_counter()
        for key, a, b in (("embed", t0, t1), ("search", t1, t2), ("dense", t2, t3), ("answer", t3, t4)):
            parts[key].append((b - a) * 1000)
    chunks = assistant.index.info()["chunks"]
    assistant.close()
    out = {"chunks": chunks, "ask": ask_ms, **parts}
    return {k: v if k == "chunks" else {"p50": percentile(v, 50), "p95": percentile(v, 95)}
            for k, v in out.items()}


# ------------------------------------------------------------------ synthetic vectors at scale


def fitted_gaussian(index_dir: Path, model: str) -> tuple[np.ndarray, np.ndarray]:
    from qa import Index

    index = Index.open(settings_for(index_dir, model))
    _ids, vectors = index.chunk_vectors()
    index.close()
    mean = vectors.mean(axis=0)
    cov = np.cov(vectors - mean, rowvar=False) + 1e-6 * np.eye(vectors.shape[1])
    return mean, np.linalg.cholesky(cov).astype(np.float32)


def synthetic(n: int, mean: np.ndarray, factor: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, len(mean)), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), len(mean)), dtype=np.float32)
        block = block @ factor.T + mean
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def search_at(n: int, vectors: np.ndarray, queries: np.ndarray, k: int, approximate_above: int,
              ef_sweep: list[int] | None = None) -> list[dict]:
    """Build the index the product would build for ``n`` chunks; time it, size it, search it.

    With ``ef_sweep`` an approximate index is also searched at each of those efSearch values
    (one build, several settings), to choose the product's value by measurement.
    """
    import faiss

    from qa.store.vectors import HNSW_EF_SEARCH, VectorIndex

    ids = np.arange(n, dtype=np.int64)
    rss0 = _rss()
    started = time.perf_counter()
    index = VectorIndex.build(ids, vectors, vectors.shape[1], approximate_above)
    build_s = time.perf_counter() - started
    memory = _rss() - rss0
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(np.ascontiguousarray(queries, dtype=np.float32), 10)
    del exact
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.faiss"
        index.save(path)
        disk = path.stat().st_size
        started = time.perf_counter()
        VectorIndex.load(path, vectors.shape[1])
        load_s = time.perf_counter() - started
    kind = "HNSW" if index.is_approximate else "flat (exact)"
    settings = [HNSW_EF_SEARCH] + [e for e in ef_sweep or [] if e != HNSW_EF_SEARCH] \
        if index.is_approximate else [None]
    out = []
    for ef in settings:
        if ef is not None:
            faiss.downcast_index(index._index.index).hnsw.efSearch = ef
        times, recall = _search_all(index, queries, k, truth)
        out.append({"chunks": n, "index": kind if ef is None else f"{kind} ef={ef}",
                    "ef_search": ef, "product_setting": ef in (None, HNSW_EF_SEARCH),
                    "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
                    "recall_at_10": recall, "build_s": build_s, "memory_mb": memory / 1e6,
                    "disk_mb": disk / 1e6, "load_s": load_s})
    return out


def _search_all(index, queries: np.ndarray, k: int, truth: np.ndarray) -> tuple[list[float], float]:
    for q in queries[:10]:
        index.search(q, k)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        found.append([cid for cid, _ in index.search(q, k)])
        times.append(_ms(t))
    recall = float(np.mean([len(set(f[:10]) & set(t.tolist())) / 10
                            for f, t in zip(found, truth, strict=True)]))
    return times, recall


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


# ------------------------------------------------------------------ main


def run(args: argparse.Namespace) -> dict:
    quiet()
    from qa import load_settings, make_embedder

    defaults = load_settings(embedding={"model": args.model})
    questions = make_questions(args.questions, seed=1)
    warm = make_questions(20, seed=2)
    source = ensure_corpus_index(args.index_dir, args.model, args.articles)
    work = scratch("qa-bench-latency-")
    figures: dict = {"model": args.model, "end_to_end": [], "dense_search": []}
    rows = []
    for target in args.e2e_chunks:
        subset = subset_index(source, work / f"idx{target}", args.model, target)
        result = end_to_end(work / f"idx{target}", args.model, questions, warm)
        figures["end_to_end"].append(result)
        rows.append([subset] + [f"{result[p]['p50']:.1f} / {result[p]['p95']:.1f}"
                                for p in ("embed", "search", "dense", "answer", "ask")])
    if rows:
        print_table(f"End to end, in process, {len(questions)} questions, ms p50 / p95 ({args.model})",
                    rows, ["chunks", "embed", "search (all)", "  of it FAISS", "answer", "ask (total)"])

    mean, factor = fitted_gaussian(source, args.model)
    embedder = make_embedder(defaults.embedding)
    queries = embedder.encode(questions)
    rows = []
    for n in args.sizes:
        vectors = synthetic(n, mean, factor, seed=n)
        results = search_at(n, vectors, queries, defaults.retrieval.candidates, args.approximate_above,
                            args.ef_sweep)
        del vectors
        figures["dense_search"] += results
        rows += [[n, r["index"], r["p50_ms"], r["p95_ms"], r["recall_at_10"], r["build_s"], r["memory_mb"],
                  r["disk_mb"], r["load_s"]] for r in results]
        print(f"  ... {n} done", flush=True)
    if rows:
        print_table(f"Dense search at scale (synthetic vectors fitted to MiniLM chunk vectors, k="
                    f"{defaults.retrieval.candidates}, approximate above {args.approximate_above})", rows,
                    ["chunks", "index", "p50 ms", "p95 ms", "recall@10", "build s", "RSS MB", "disk MB",
                     "load s"])
    report_targets(figures)
    write_json(args.json, figures)
    return figures


def report_targets(figures: dict) -> None:
    checks = []
    if figures["end_to_end"]:
        near = min(figures["end_to_end"], key=lambda r: abs(r["chunks"] - 10_000))
        checks.append((f"ask p50 at {near['chunks']} chunks", near["ask"]["p50"],
                       f"< {TARGET_ASK_P50_MS:.0f} ms", near["ask"]["p50"] < TARGET_ASK_P50_MS))
    if figures["dense_search"]:
        top = max((r for r in figures["dense_search"] if r["product_setting"]), key=lambda r: r["chunks"])
        checks += [
            (f"dense search p50 at {top['chunks']} chunks ({top['index']})", top["p50_ms"],
             f"< {TARGET_SEARCH_1M_MS:.0f} ms", top["p50_ms"] < TARGET_SEARCH_1M_MS),
            (f"recall@10 at {top['chunks']} chunks", top["recall_at_10"], f">= {TARGET_RECALL}",
             top["recall_at_10"] >= TARGET_RECALL),
        ]
    print_table("Targets", [[name, value, target, "meets" if ok else "MISSES"]
                            for name, value, target, ok in checks], ["figure", "value", "target", ""])
    figures["targets"] = [{"figure": n, "value": v, "target": t, "meets": ok} for n, v, t, ok in checks]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=REAL_MODEL)
    parser.add_argument("--index-dir", type=Path, default=Path("benchmarks/out/index-2000"),
                        help="a corpus index (made by benchmarks.ingest --index-dir, or here if missing)")
    parser.add_argument("--articles", type=int, default=2000, help="corpus size when building the index")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--e2e-chunks", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--approximate-above", type=int, default=None,
                        help="default: the index.approximate_above setting")
    parser.add_argument("--ef-sweep", type=int, nargs="*", default=[],
                        help="also search approximate indexes at these efSearch values")
    parser.add_argument("--quick", action="store_true", help="fake embedder, tiny sizes: a smoke run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.model = "fake-hash" if args.model == REAL_MODEL else args.model
        args.index_dir = scratch("qa-bench-quick-") / "index"
        args.articles, args.questions = 60, 20
        args.e2e_chunks, args.sizes = [100, 300], [1_000, 3_000]
        args.approximate_above = args.approximate_above or 2_000
        args.ef_sweep = args.ef_sweep or [64]
    if args.approximate_above is None:
        from qa import load_settings

        args.approximate_above = load_settings().index.approximate_above
    run(args)


if __name__ == "__main__":
    main()
