"""Query latency on PostgreSQL + pgvector beside the embedded store, at 10k, 100k and 1M chunks.

The articles are the generated corpus (``benchmarks.corpus``: news-like, a small vocabulary, so
every question word is common), split and chunked by qa. Up to ``--pool`` articles are distinct;
a larger load cycles through them again under new ids (the same text, fresh vectors). Sentence
vectors are synthetic, drawn from a Gaussian fitted to real MiniLM vectors of corpus sentences;
each chunk vector is the normalised mean of its sentences' (as the indexer makes it). The
question is encoded by the real model, so ``ask`` is a whole extractive answer: embed, hybrid
search (dense + full text over chunks and sentences, RRF), the candidate sentences, spaCy and
the answerer. The same articles and vectors go to both stores, each queried in turn in one run.

PostgreSQL is loaded the bulk way: the HNSW and GIN indexes are dropped, the rows are written
through the store (COPY), the indexes are built once at the end with a large
``maintenance_work_mem`` (their build times are printed), then ANALYZE (what autovacuum does
after a load; the full-text plan reads the statistics). ``--keep DIR`` keeps the database and
the embedded indexes in DIR, so a later run with the same sizes only queries.

    python -m benchmarks.pg_query --sizes 10000 100000            # pgserver in a temp folder
    python -m benchmarks.pg_query --sizes 1000000 --no-embedded --chunking 2 1 --keep /tmp/pg1m
    python -m benchmarks.pg_query --sizes 10000 --ef-search 800 200    # recall vs speed, in turn
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks import corpus
from benchmarks.common import REAL_MODEL, percentile, print_table, quiet, scratch, write_json
from benchmarks.query_latency import make_questions

TARGET_ASK_1M_P50_MS = 100.0
DROPPED = ("chunks_hnsw", "sentences_hnsw", "chunks_tsv", "sentences_tsv")


def start_server(folder: Path | None, shared_buffers_gb: int) -> str:
    """pgserver (PostgreSQL 16 + pgvector) in ``folder`` (kept) or a temporary one, with
    ``shared_buffers`` set (initdb's 128MB would leave a million chunks' HNSW to the page cache)."""
    import pgserver
    import psycopg
    from pgserver._commands import pg_ctl  # pgserver has no restart of its own

    data = folder or Path(tempfile.mkdtemp(prefix="qa-bench-pg-"))
    data.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data, cleanup_mode=None if folder else "delete")
    with psycopg.connect(server.get_uri(), autocommit=True) as con:
        current = con.execute("SHOW shared_buffers").fetchone()[0]
        if current != f"{shared_buffers_gb}GB":
            con.execute(f"ALTER SYSTEM SET shared_buffers = '{int(shared_buffers_gb)}GB'")
    if current != f"{shared_buffers_gb}GB":
        pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=120)
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


class ArticlePool:
    """Generated articles, read, split and chunked by qa as they are first needed, up to ``limit``
    distinct ones; past that, a load cycles through them again."""

    def __init__(self, limit: int, chunking, work: Path) -> None:
        self.limit, self.chunking, self.work = limit, chunking, work
        self.items: list[tuple] = []
        self.generated = 0  # rows generated (the reader may drop one)

    def get(self, n: int) -> tuple:
        """The n-th article (sentences, chunks); a repeat of the pool gets a new id."""
        while n >= len(self.items) and len(self.items) < self.limit:
            self._grow()
        article, sentences, parts = self.items[n % len(self.items)]
        if n < len(self.items):
            return article, sentences, parts
        new = f"{article.id}-r{n // len(self.items)}"
        return (replace(article, id=new), [replace(s, article_id=new) for s in sentences],
                [replace(c, article_id=new) for c in parts])

    def _grow(self) -> None:
        from qa.ingest.chunking import article_sentences, make_chunks

        number = self.generated // 2000
        rows = corpus.generate(2000, seed=1000 + number)
        self.generated += len(rows)
        for i, row in enumerate(rows):
            row["id"] = f"b{number:04d}-{i:05d}"
        for article in read_rows(rows, self.work):
            sentences = article_sentences(article)
            self.items.append((article, sentences, make_chunks(
                article, sentences, self.chunking.sentences, self.chunking.overlap)))


def prepared_batches(chunks: int, pool: ArticlePool, mean, factor, batch: int):
    """PreparedArticle batches up to ``chunks`` chunks, each article with fresh synthetic vectors."""
    from qa.store.indexer import chunk_vectors
    from qa.store.protocol import PreparedArticle

    rng = np.random.default_rng(chunks)
    made, n, out = 0, 0, []
    while made < chunks:
        article, sentences, parts = pool.get(n)
        n += 1
        raw = rng.standard_normal((len(sentences), len(mean)), dtype=np.float32) @ factor.T + mean
        vectors = raw / np.linalg.norm(raw, axis=1, keepdims=True)
        out.append(PreparedArticle(article, sentences, vectors, parts, chunk_vectors(parts, vectors)))
        made += len(parts)
        if len(out) == batch or made >= chunks:
            yield out
            out = []


def load(settings, dim: int, batches, args, written: Path | None) -> dict:
    """Write the batches; for PostgreSQL the bulk way (indexes built after the rows). With
    ``written`` (a marker file) a rerun after an interruption skips the writes it records."""
    from qa.store.protocol import open_store_for_writing

    store = open_store_for_writing(settings, REAL_MODEL, dim)
    postgres = settings.store.backend == "postgres"
    if written and written.is_file():
        figures = json.loads(written.read_text())
    else:
        if postgres:
            _sql(settings, [f"DROP INDEX IF EXISTS {', '.join(DROPPED)}"])
        started = time.perf_counter()
        for batch in batches:
            store.write(batch)
        figures = {"write_s": time.perf_counter() - started}
        if written:
            written.write_text(json.dumps(figures))
    print(f"    written in {figures['write_s']:.0f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    if postgres:
        figures.update(build_indexes(settings, args.ef_construction))
    info = store.info()
    store.close()
    return {"chunks": info["chunks"], "sentences": info["sentences"], "articles": info["articles"],
            **figures, "size_mb": info["size_bytes"] / 1e6}


def build_indexes(settings, ef_construction: int) -> dict:
    """GIN, then HNSW over chunks and over sentences, then ANALYZE; the seconds of each."""
    from qa.store import pg_schema

    steps = {
        "gin_build_s": pg_schema.create_text_indexes,
        "hnsw_chunks_build_s": lambda con: pg_schema.create_vector_index(con, ("chunks",), ef_construction),
        "hnsw_sentences_build_s":
            lambda con: pg_schema.create_vector_index(con, ("sentences",), ef_construction),
        "analyze_s": lambda con: con.execute("ANALYZE"),
    }
    times = {}
    for name, step in steps.items():
        started = time.perf_counter()
        _sql(settings, ["SET maintenance_work_mem = '4GB'", "SET max_parallel_maintenance_workers = 1"],
             step)
        times[name] = time.perf_counter() - started
        print(f"    {name} {times[name]:.0f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    return times


def _sql(settings, statements: list[str], then=None) -> None:
    import psycopg

    from qa.store import pg_schema

    with psycopg.connect(settings.store.dsn, autocommit=True) as con:
        pg_schema.set_search_path(con, settings.store.schema_name)
        for statement in statements:
            con.execute(statement)
        if then is not None:
            then(con)


def measure(settings, embedder, questions: list[str], warm: list[str]) -> dict:
    import datetime as dt

    from qa import Assistant
    from qa.answer.evidence import load_candidates
    from qa.retrieve import DatePreference, search

    assistant = Assistant(settings, embedder=embedder).warm_up()
    for q in warm:
        assistant.ask(q)
    r = settings.retrieval
    times: dict[str, list[float]] = {"search": [], "dense": [], "full_text": [], "ask": []}
    queries = []
    load_before = os.getloadavg()
    for q in questions:
        assistant.clear_caches()
        qvec = embedder.encode([q])[0]
        t0 = time.perf_counter()
        with assistant.index.snapshot() as reader:
            # as the answer searches: with the question's dates (its as-of date is today)
            found = search(assistant.index, q, qvec, r, dates=DatePreference.of_text(q, dt.date.today()))
            load_candidates(assistant.index, list(found.hits), q, qvec, found.sentences)
            t1 = time.perf_counter()
            reader.dense(qvec, r.candidates, None)
            t2 = time.perf_counter()
            reader.lexical(q, r.candidates, None)
            reader.lexical_sentences(q, r.candidates, None)
            t3 = time.perf_counter()
        assistant.clear_caches()
        with counted_queries(settings.store.backend == "postgres") as count:
            t4 = time.perf_counter()
            assistant.ask(q)
            t5 = time.perf_counter()
        queries.append(count[0])
        for key, a, b in (("search", t0, t1), ("dense", t1, t2), ("full_text", t2, t3), ("ask", t4, t5)):
            times[key].append((b - a) * 1000)
    assistant.close()
    out: dict = {k: {"p50": percentile(v, 50), "p95": percentile(v, 95)} for k, v in times.items()}
    out["queries_per_answer"] = sum(queries) / len(queries)
    out["load_average"] = {"before": load_before, "after": os.getloadavg()}
    return out


@contextmanager
def counted_queries(postgres: bool):
    """The statements sent to PostgreSQL meanwhile, in ``count[0]`` (each is a round trip; the
    transaction's BEGIN and COMMIT add two). The embedded store: 0 (it runs in this process)."""
    count = [0]
    if not postgres:
        yield count
        return
    import psycopg

    execute = psycopg.Cursor.execute

    def counting(self, query, params=None, **kwargs):
        count[0] += 1
        return execute(self, query, params, **kwargs)

    psycopg.Cursor.execute = counting
    try:
        yield count
    finally:
        psycopg.Cursor.execute = execute


def loaded(settings, dim, pool, mean, factor, size, args, keep: Path | None) -> dict:
    """Load one store (or, with ``--keep``, reuse what an earlier run loaded)."""
    marker = keep / f"loaded-{settings.store.backend}-{size}.json" if keep else None
    if marker and marker.is_file():
        return json.loads(marker.read_text())
    batch = 2000 if settings.store.backend == "postgres" else 4000
    written = keep / f"written-{settings.store.backend}-{size}.json" if keep else None
    figures = load(settings, dim, prepared_batches(size, pool, mean, factor, batch), args, written)
    if marker:
        marker.write_text(json.dumps(figures))
    return figures


def run(args: argparse.Namespace) -> dict:
    quiet()
    from qa import load_settings, make_embedder

    keep = args.keep.resolve() if args.keep else None
    dsn = args.dsn or start_server(keep / "pg" if keep else None, args.shared_buffers_gb)
    embedder = make_embedder(load_settings(embedding={"model": REAL_MODEL}).embedding)
    work = keep or scratch("qa-bench-pgq-")
    mean, factor = fit(embedder, corpus.generate(300, seed=3), work)
    questions, warm = make_questions(args.questions, seed=1), make_questions(10, seed=2)
    chunking = {"sentences": args.chunking[0], "overlap": args.chunking[1]}
    pool = None
    figures: dict = {"chunking": chunking, "pool_articles": args.pool, "lexical_rows": args.lexical_rows,
                     "ef_construction": args.ef_construction, "shared_buffers_gb": args.shared_buffers_gb,
                     "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": []}
    table = []
    for size in args.sizes:
        for backend in ["postgres"] + ([] if args.no_embedded else ["sqlite"]):
            store = {"backend": backend, "lexical_rows": args.lexical_rows,
                     **({"dsn": dsn, "schema_name": f"bench_{size}"} if backend == "postgres" else {})}
            settings = load_settings(embedding={"model": REAL_MODEL}, chunking=chunking,
                                     index={"dir": work / f"idx{size}"}, store=store)
            pool = pool or ArticlePool(args.pool, settings.chunking, work)
            load_figures = loaded(settings, embedder.dim, pool, mean, factor, size, args, keep)
            # each hnsw.ef_search asked for in turn (the embedded store has its own graph settings)
            for ef in (args.ef_search or [settings.store.ef_search]) if backend == "postgres" else [None]:
                if ef is not None:
                    settings = settings.model_copy(update={"store": settings.store.model_copy(
                        update={"ef_search": ef})})
                result = {"backend": backend, "ef_search": ef, **load_figures,
                          **measure(settings, embedder, questions, warm)}
                figures["rows"].append(result)
                table.append([backend, ef or "-", result["chunks"], result["sentences"],
                              *(f"{result[p]['p50']:.1f} / {result[p]['p95']:.1f}"
                                for p in ("dense", "full_text", "search", "ask")),
                              f"{result['queries_per_answer']:.1f}",
                              f"{result['load_average']['before'][0]:.1f}"])
                print(f"  ... {backend} {size} done: {json.dumps(result)}", flush=True)
    print_table(f"Query latency, {len(questions)} questions, ms p50 / p95 (synthetic vectors, real encoder)",
                table, ["store", "ef_search", "chunks", "sentences", "dense", "full text (both)",
                        "search (all)", "ask (total)", "queries/ask", "load avg"])
    write_json(args.json, figures)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--dsn", default=None, help="an existing PostgreSQL (default: pgserver)")
    parser.add_argument("--no-embedded", action="store_true", help="PostgreSQL only")
    parser.add_argument("--chunking", type=int, nargs=2, default=[5, 2], metavar=("SENTENCES", "OVERLAP"))
    parser.add_argument("--pool", type=int, default=20_000, help="distinct articles (then repeated)")
    parser.add_argument("--ef-construction", type=int, default=64, help="HNSW build parameter")
    parser.add_argument("--shared-buffers-gb", type=int, default=2, help="for the pgserver started here")
    parser.add_argument("--lexical-rows", type=int, default=1000, help="store.lexical_rows")
    parser.add_argument("--ef-search", type=int, nargs="+", default=None,
                        help="store.ef_search values to query with, in turn (default: the setting's)")
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the loaded stores here")
    parser.add_argument("--json", type=Path, default=None)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
