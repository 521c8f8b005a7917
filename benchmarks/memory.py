"""Memory per million chunks, index size on disk, and cold start (process start to first answer).

- Disk: the bytes of a real corpus index (SQLite: articles, sentences with their vectors, chunks
  with theirs, FTS5; plus the FAISS file) per chunk, scaled to a million chunks.
- Memory: the resident memory a vector index adds, flat and HNSW, measured at ``--vectors``
  synthetic vectors in a fresh process each and scaled to a million (both grow linearly); plus the
  resident memory of a whole `qa` process (models loaded) with the corpus index open.
  SQLite stays on disk (its page cache is bounded), so it adds little.
- Cold start: wall time of ``python -m qa ask QUESTION`` in a new process on the corpus index
  (import, load MiniLM and spaCy, open the index, answer, print), median of ``--repeat`` runs.

    python -m benchmarks.memory                 # needs the corpus index (made here if missing)
    python -m benchmarks.memory --quick         # fake embedder, small sizes: a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REAL_MODEL, ROOT, median, print_table, quiet, scratch, write_json
from benchmarks.query_latency import ensure_corpus_index

MILLION = 1_000_000

_VECTOR_RSS = """
import json, sys, numpy as np, psutil
from qa.store.vectors import VectorIndex
n, dim, above = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import faiss  # imported before the baseline, so that only the index is counted
before = psutil.Process().memory_info().rss
rng = np.random.default_rng(0)
vectors = rng.standard_normal((n, dim), dtype=np.float32)
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
ids = np.arange(n, dtype=np.int64)
index = VectorIndex.build(ids, vectors, dim, above)
del vectors, ids  # the input arrays are freed: what is left is the index
after = psutil.Process().memory_info().rss
print(json.dumps({"bytes": after - before, "approximate": index.is_approximate}))
"""

_PROCESS_RSS = """
import json, sys, warnings, psutil
warnings.simplefilter("ignore")
from qa import Assistant, load_settings
assistant = Assistant(load_settings(index={"dir": sys.argv[1]})).warm_up()
assistant.ask("Who announced plans on grain exports?")
print(json.dumps({"rss": psutil.Process().memory_info().rss}))
"""


def env(model: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    out.update({"QA_EMBEDDING__MODEL": model, "PYTHONPATH": str(ROOT)})
    return out


def python(code: str, *args: str, model: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env(model), cwd=ROOT,
                         capture_output=True, text=True, timeout=3600)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def vector_memory(n: int, dim: int) -> dict[str, float]:
    """Resident bytes per vector of a flat and an HNSW index (the array of the input freed)."""
    flat = python(_VECTOR_RSS, str(n), str(dim), str(n + 1), model="fake-hash")
    hnsw = python(_VECTOR_RSS, str(n), str(dim), "1", model="fake-hash")
    return {"flat": flat["bytes"] / n, "hnsw": hnsw["bytes"] / n}


def disk_usage(index_dir: Path, model: str) -> dict[str, float]:
    from qa import Index, load_settings

    info = Index.open(load_settings(index={"dir": index_dir}, embedding={"model": model})).info()
    sqlite = sum(p.stat().st_size for p in index_dir.glob("qa.sqlite*"))
    faiss = sum(p.stat().st_size for p in index_dir.glob("vectors.*.faiss"))
    return {"chunks": info["chunks"], "sentences": info["sentences"], "articles": info["articles"],
            "sqlite_bytes": sqlite, "faiss_bytes": faiss,
            "sqlite_per_chunk": sqlite / info["chunks"], "faiss_per_chunk": faiss / info["chunks"]}


def cold_start(index_dir: Path, model: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "qa", "ask", "Who announced plans on grain exports?",
                              "--index-dir", str(index_dir)], env=env(model), cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - started)
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
    return times


def run(args: argparse.Namespace) -> dict:
    quiet()
    index_dir = ensure_corpus_index(args.index_dir, args.model, args.articles)
    disk = disk_usage(index_dir, args.model)
    dim = 384 if args.model == REAL_MODEL else 64
    per_vector = vector_memory(args.vectors, dim)
    process = python(_PROCESS_RSS, str(index_dir), model=args.model)["rss"]
    starts = cold_start(index_dir, args.model, args.repeat)
    figures = {
        "model": args.model, **disk, "vectors_measured": args.vectors,
        "flat_mb_per_million": per_vector["flat"] * MILLION / 1e6,
        "hnsw_mb_per_million": per_vector["hnsw"] * MILLION / 1e6,
        "sqlite_gb_per_million": disk["sqlite_per_chunk"] * MILLION / 1e9,
        "faiss_flat_gb_per_million": disk["faiss_per_chunk"] * MILLION / 1e9,
        "process_rss_mb": process / 1e6, "cold_start_s": starts, "cold_start_median_s": median(starts),
    }
    print_table(
        f"Index of {disk['articles']} articles, {disk['chunks']} chunks, {disk['sentences']} sentences "
        f"({args.model})",
        [["SQLite (rows, vectors, FTS5)", disk["sqlite_bytes"] / 1e6, disk["sqlite_per_chunk"],
          figures["sqlite_gb_per_million"]],
         ["FAISS file (flat)", disk["faiss_bytes"] / 1e6, disk["faiss_per_chunk"],
          figures["faiss_flat_gb_per_million"]]],
        ["on disk", "MB", "bytes/chunk", "GB per 1M chunks"],
    )
    print_table(
        f"Resident memory of the vector index (measured at {args.vectors} vectors, {dim} dims, scaled)",
        [["flat (exact)", per_vector["flat"], figures["flat_mb_per_million"]],
         ["HNSW (approximate)", per_vector["hnsw"], figures["hnsw_mb_per_million"]]],
        ["index", "bytes/chunk", "MB per 1M chunks"],
    )
    print_table("Process", [["RSS of qa with models loaded and this index open, after one answer",
                             f"{process / 1e6:,.0f} MB"],
                            [f"cold start: qa ask in a new process (median of {args.repeat})",
                             f"{median(starts):.2f} s"]], ["", ""])
    write_json(args.json, figures)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=REAL_MODEL)
    parser.add_argument("--index-dir", type=Path, default=Path("benchmarks/out/index-2000"))
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--vectors", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fake embedder, small sizes: a smoke run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.model = "fake-hash" if args.model == REAL_MODEL else args.model
        args.index_dir = scratch("qa-bench-quick-") / "index"
        args.articles, args.vectors, args.repeat = 40, 5_000, 1
    run(args)


if __name__ == "__main__":
    main()
