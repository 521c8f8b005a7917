"""Query latency on PostgreSQL + pgvector beside the embedded store, at 10k, 100k (and 1M) chunks.

The articles are the generated corpus (``benchmarks.corpus``), split and chunked by qa; their
sentence vectors are synthetic, drawn from a Gaussian fitted to real MiniLM vectors of corpus
sentences, and each chunk vector is the normalised mean of its sentences' (as the indexer makes
it). The question is encoded by the real model, so ``ask`` is a whole extractive answer: embed,
hybrid search (dense + full text, RRF), the candidate sentences, spaCy and the answerer. The
same articles and vectors are written to both stores, each queried in turn in one run.

PostgreSQL is loaded the bulk way: the HNSW index is dropped, the rows are written through the
store, and the index is built once at the end (its build time is printed).

    python -m benchmarks.pg_query --sizes 10000 100000            # pgserver in a temp folder
    python -m benchmarks.pg_query --sizes 1000000 --no-embedded --dsn postgresql://...
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import corpus
from benchmarks.common import REAL_MODEL, percentile, print_table, quiet, scratch, write_json
from benchmarks.query_latency import make_questions

TARGET_ASK_1M_P50_MS = 100.0


def start_server() -> str:
    import pgserver

    server = pgserver.get_server(Path(tempfile.mkdtemp(prefix="qa-bench-pg-")), cleanup_mode="delete")
    return server.get_uri()


def read_rows(rows: list[dict], work: Path):
    """The rows as qa reads them (the articles-JSONL reader: clean-up included)."""
    from qa.ingest.readers import read_articles

    return list(read_articles(corpus.write_jsonl(rows, work / "rows.jsonl")))


def fit(embedder, rows: list[dict], work: Path) -> tuple[np.ndarray, np.ndarray]:
    """Mean and Cholesky factor of real sentence vectors of the corpus."""
    from qa.ingest.chunking import article_sentences

    texts = []
    for article in read_rows(rows, work):
        texts += [s.text for s in article_sentences(article)]
    vectors = embedder.encode(texts[:3000])
    mean = vectors.mean(axis=0)
    cov = np.cov(vectors - mean, rowvar=False) + 1e-6 * np.eye(vectors.shape[1])
    return mean, np.linalg.cholesky(cov).astype(np.float32)


def prepared_batches(chunks: int, mean, factor, settings, batch: int, work: Path):
    """PreparedArticle batches of generated articles with synthetic vectors, up to ``chunks``."""
    from qa.ingest.chunking import article_sentences, make_chunks
    from qa.store.indexer import chunk_vectors
    from qa.store.protocol import PreparedArticle

    rng = np.random.default_rng(chunks)
    made, number = 0, 0
    while made < chunks:
        rows = corpus.generate(batch, seed=1000 + number)
        for i, row in enumerate(rows):
            row["id"] = f"b{number:04d}-{i:05d}"
        number += 1
        out = []
        for article in read_rows(rows, work):
            sentences = article_sentences(article)
            parts = make_chunks(article, sentences, settings.chunking.sentences, settings.chunking.overlap)
            raw = rng.standard_normal((len(sentences), len(mean)), dtype=np.float32) @ factor.T + mean
            vectors = raw / np.linalg.norm(raw, axis=1, keepdims=True)
            out.append(PreparedArticle(article, sentences, vectors, parts, chunk_vectors(parts, vectors)))
            made += len(parts)
            if made >= chunks:
                break
        yield out


def load(settings, dim: int, mean, factor, chunks: int, work: Path) -> dict:
    from qa.store import pg_schema
    from qa.store.protocol import open_store_for_writing

    store = open_store_for_writing(settings, REAL_MODEL, dim)
    postgres = settings.store.backend == "postgres"
    if postgres:
        _sql(settings, "DROP INDEX IF EXISTS chunks_hnsw")
    started = time.perf_counter()
    for batch in prepared_batches(chunks, mean, factor, settings, 2000, work):
        store.write(batch)
    write_s = time.perf_counter() - started
    build_s = 0.0
    if postgres:
        import psycopg

        started = time.perf_counter()
        with psycopg.connect(settings.store.dsn, autocommit=True) as con:
            pg_schema.set_search_path(con, settings.store.schema_name)
            con.execute("SET maintenance_work_mem = '3GB'")
            con.execute("SET max_parallel_maintenance_workers = 1")
            pg_schema.create_vector_index(con)
            con.execute("ANALYZE")
        build_s = time.perf_counter() - started
    info = store.info()
    store.close()
    return {"chunks": info["chunks"], "write_s": write_s, "index_build_s": build_s,
            "size_mb": info["size_bytes"] / 1e6}


def _sql(settings, statement: str) -> None:
    import psycopg

    from qa.store import pg_schema

    with psycopg.connect(settings.store.dsn, autocommit=True) as con:
        pg_schema.set_search_path(con, settings.store.schema_name)
        con.execute(statement)


def measure(settings, embedder, questions: list[str], warm: list[str]) -> dict:
    from qa import Assistant
    from qa.answer.evidence import load_candidates
    from qa.retrieve import search

    assistant = Assistant(settings, embedder=embedder).warm_up()
    for q in warm:
        assistant.ask(q)
    r = settings.retrieval
    times: dict[str, list[float]] = {"search": [], "dense": [], "ask": []}
    for q in questions:
        assistant.clear_caches()
        qvec = embedder.encode([q])[0]
        t0 = time.perf_counter()
        with assistant.index.snapshot() as reader:
            found = search(assistant.index, q, qvec, r)
            load_candidates(assistant.index, list(found.hits), q, qvec, found.sentences)
            t1 = time.perf_counter()
            reader.dense(qvec, r.candidates, None)
            t2 = time.perf_counter()
        assistant.clear_caches()
        t3 = time.perf_counter()
        assistant.ask(q)
        t4 = time.perf_counter()
        for key, a, b in (("search", t0, t1), ("dense", t1, t2), ("ask", t3, t4)):
            times[key].append((b - a) * 1000)
    assistant.close()
    return {k: {"p50": percentile(v, 50), "p95": percentile(v, 95)} for k, v in times.items()}


def run(args: argparse.Namespace) -> dict:
    quiet()
    from qa import load_settings, make_embedder

    dsn = args.dsn or start_server()
    embedder = make_embedder(load_settings(embedding={"model": REAL_MODEL}).embedding)
    work = scratch("qa-bench-pgq-")
    mean, factor = fit(embedder, corpus.generate(300, seed=3), work)
    questions, warm = make_questions(args.questions, seed=1), make_questions(10, seed=2)
    figures: dict = {"rows": []}
    table = []
    for size in args.sizes:
        backends = ["postgres"] + ([] if args.no_embedded else ["sqlite"])
        for backend in backends:
            settings = load_settings(
                embedding={"model": REAL_MODEL}, index={"dir": work / f"idx{size}"},
                store={"backend": backend, "dsn": dsn, "schema_name": f"bench_{size}"}
                if backend == "postgres" else {})
            loaded = load(settings, embedder.dim, mean, factor, size, work)
            result = {"backend": backend, **loaded, **measure(settings, embedder, questions, warm)}
            figures["rows"].append(result)
            table.append([backend, result["chunks"], f"{result['write_s']:.0f}",
                          f"{result['index_build_s']:.0f}",
                          *(f"{result[p]['p50']:.1f} / {result[p]['p95']:.1f}"
                            for p in ("dense", "search", "ask"))])
            print(f"  ... {backend} {size} done", flush=True)
    print_table(f"Query latency, {len(questions)} questions, ms p50 / p95 (synthetic vectors, real encoder)",
                table, ["store", "chunks", "write s", "HNSW build s", "dense", "search (all)", "ask (total)"])
    write_json(args.json, figures)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--dsn", default=None, help="an existing PostgreSQL (default: pgserver, temporary)")
    parser.add_argument("--no-embedded", action="store_true", help="PostgreSQL only")
    parser.add_argument("--json", type=Path, default=None)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
