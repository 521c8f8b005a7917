"""Ingest throughput by store and runner: embedded vs PostgreSQL, in process vs Ray, beside the
encoder alone, on the same generated articles with the same model, in one run.

Rows: the encoder alone on all the articles' sentences (the ceiling); ``qa index`` in process into
the embedded store and into PostgreSQL; ``qa index --ray`` on a local cluster (started once, its
start-up time printed apart) with 1 encoder actor into each store. Model loading is excluded from
the in-process rows (the embedder is loaded first) but included in the Ray rows (each actor loads
its own copy), which is part of Ray's per-run overhead.

    python -m benchmarks.pg_ingest --articles 150
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks import corpus
from benchmarks.common import REAL_MODEL, print_table, quiet, scratch, write_json


def run(args: argparse.Namespace) -> dict:
    quiet()
    from qa import index_paths, load_settings, make_embedder
    from qa.ingest.chunking import article_sentences
    from qa.ingest.readers import read_articles
    from qa.store.indexer import prepare_articles
    from qa.store.protocol import open_store_for_writing
    from qa.store.ray_indexer import index_paths_ray

    work = scratch("qa-bench-pgi-")
    jsonl = corpus.write_jsonl(corpus.generate(args.articles, seed=11), work / "articles.jsonl")
    texts = [s.text for a in read_articles(jsonl) for s in article_sentences(a)]
    dsn = args.dsn or _server()
    embedder = make_embedder(load_settings(embedding={"model": args.model}).embedding)
    embedder.encode(["warm up"])

    def settings(backend: str, name: str):
        store = {"backend": "postgres", "dsn": dsn, "schema_name": name} if backend == "postgres" else {}
        return load_settings(embedding={"model": args.model}, index={"dir": work / name}, store=store)

    rows: list[list] = []
    figures: dict = {"articles": args.articles, "sentences": len(texts), "model": args.model, "rows": []}

    def record(name: str, seconds: float) -> None:
        rows.append([name, args.articles / seconds, len(texts) / seconds, seconds])
        figures["rows"].append({"runner": name, "seconds": seconds,
                                "articles_per_s": args.articles / seconds,
                                "sentences_per_s": len(texts) / seconds})

    started = time.perf_counter()
    embedder.encode(texts)
    record("encoder alone", time.perf_counter() - started)
    for backend in ("sqlite", "postgres"):
        started = time.perf_counter()
        report = index_paths([jsonl], settings(backend, f"inproc_{backend}"), embedder=embedder)
        assert len(report.indexed) == args.articles, report.summary()
        record(f"in process -> {backend}", time.perf_counter() - started)
    prepared = prepare_articles(list(read_articles(jsonl)), settings("sqlite", "x"), embedder)
    for backend in ("sqlite", "postgres"):  # the store's share: writing already embedded batches
        store = open_store_for_writing(settings(backend, f"writes_{backend}"), embedder.name, embedder.dim,
                                      variant=embedder.variant)
        started = time.perf_counter()
        for start in range(0, len(prepared), 256):
            store.write(prepared[start:start + 256])
        record(f"store writes only -> {backend}", time.perf_counter() - started)
        store.close()
    if not args.no_ray:
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        import ray

        started = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        figures["ray_start_s"] = time.perf_counter() - started
        try:
            for backend in ("sqlite", "postgres"):
                started = time.perf_counter()
                report = index_paths_ray([jsonl], settings(backend, f"ray_{backend}"), workers=1)
                assert len(report.indexed) == args.articles, report.summary()
                record(f"Ray, 1 actor -> {backend}", time.perf_counter() - started)
        finally:
            ray.shutdown()
    print_table(f"Ingest: {args.articles} articles, {len(texts)} sentences ({args.model})"
                + (f"; Ray cluster start {figures['ray_start_s']:.1f} s, not included"
                   if "ray_start_s" in figures else ""),
                rows, ["runner", "articles/s", "sentences/s", "seconds"])
    write_json(args.json, figures)
    return figures


def _server() -> str:
    import pgserver

    return pgserver.get_server(Path(tempfile.mkdtemp(prefix="qa-bench-pg-")), cleanup_mode="delete").get_uri()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=150)
    parser.add_argument("--model", default=REAL_MODEL)
    parser.add_argument("--dsn", default=None, help="an existing PostgreSQL (default: pgserver, temporary)")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
