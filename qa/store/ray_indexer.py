"""Distributed ingest: ``qa index PATH --ray [ADDRESS]`` as a Ray Data pipeline.

    files -> read + clean (tasks) -> drop unchanged -> split + chunk + embed (one encoder per
    actor, ``workers`` actors) -> committed batches written by the driver into the chosen store

Rows between the stages are plain columns (strings, JSON offsets, float32 bytes), never Python
objects. The driver writes: every batch is one store transaction, exactly as the in-process
indexer writes, so an interrupted run keeps what it committed and a re-run skips it. With no
address, a local cluster is started for the run; Ray runs offline (no dashboard, no usage stats).
A remote cluster's workers need the same ``qa`` installed and the files at the same paths.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.embeddings import make_embedder
from qa.errors import DependencyError, InputError
from qa.ingest.readers import iter_files
from qa.store.indexer import (
    IndexReport,
    Progress,
    ProgressCallback,
    prepare_articles,
    read_file,
    record_written,
    select_new,
    stored_hashes,
)
from qa.store.protocol import PreparedArticle, open_store_for_writing
from qa.types import Article, Chunk, Sentence

ARTICLE_FIELDS = ("id", "title", "text", "date", "source", "url", "path")


def index_paths_ray(paths: Sequence[Path], settings: Settings, *, address: str | None = None,
                    workers: int = 1, progress: ProgressCallback | None = None) -> IndexReport:
    """Index files into the settings' store with a Ray cluster (``address``: ``auto``, ``ray://…``;
    None starts a local one for this run). Inside a running Ray job, that job's cluster is used."""
    ray, owned = _start_ray(address, workers)
    report = IndexReport()
    started = time.perf_counter()
    try:
        files = [str(p) for p in iter_files(paths)]
        if files:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Ray Data's tuning hints for small inputs
                _run(ray, files, settings, workers, report, progress)
    finally:
        if owned:
            ray.shutdown()
    report.seconds = time.perf_counter() - started
    return report


def _start_ray(address: str | None, workers: int) -> tuple[Any, bool]:
    """The ray module, and whether this run started (and so must stop) the connection."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: no usage report
    try:
        import ray
    except ImportError:
        raise DependencyError("qa index --ray needs the optional extra: pip install -e '.[ray]'") from None
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if ray.is_initialized():
        return ray, False
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                               "configure_logging": False}
    if address:
        ray.init(address=address, **options)
    else:
        # The encoders, and CPUs for reading and splitting (Ray Data keeps some for other stages).
        ray.init(num_cpus=workers + 2, **options)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return ray, True


def _run(ray: Any, files: list[str], settings: Settings, workers: int, report: IndexReport,
         progress: ProgressCallback | None) -> None:
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if workers >= cpus:  # the actors would hold every CPU and the reading tasks wait forever
        raise InputError(f"the Ray cluster has {cpus} CPUs: use at most --workers {max(cpus - 1, 0)} "
                         "(one CPU reads and splits)")
    config = settings.model_dump(mode="json")
    ds = ray.data.from_items([{"file": f} for f in files], override_num_blocks=min(len(files), 64))
    ds = ds.flat_map(_read_rows, fn_args=(config, stored_hashes(settings)))
    actors = ray.data.ActorPoolStrategy
    # Streaming: blocks of one batch each, so that one large JSONL file still feeds every encoder.
    ds = ds.repartition(target_num_rows_per_block=settings.index.commit_every)
    ds = ds.map_batches(_Embed, fn_constructor_args=(config,), compute=actors(size=workers),
                        batch_size=settings.index.commit_every, batch_format="numpy")
    store = None
    state = Progress()
    try:
        for batch in ds.iter_batches(batch_size=settings.index.commit_every, batch_format="numpy"):
            rows = _rows(batch)
            report.errors += [r["error"] for r in rows if r["error"]]
            chosen = select_new([_article(r) for r in rows if not r["error"]], settings, report)
            keep = {a.id for a in chosen}
            prepared = [_prepared(r) for r in rows if not r["error"] and r["id"] in keep]
            if not prepared:
                continue
            if store is None:
                store = open_store_for_writing(settings, str(rows[0]["model"]), int(rows[0]["dim"]),
                                               variant=str(rows[0]["variant"]))
            store.write(prepared)
            record_written(report, prepared)
            state.articles += len(prepared)
            state.sentences += sum(len(p.sentences) for p in prepared)
            state.chunks += sum(len(p.chunks) for p in prepared)
            if progress:
                progress(state)
    finally:
        if store is not None:
            store.close()


def _read_rows(row: dict, config: dict, stored: dict[str, str]) -> Iterator[dict]:
    """A file -> its articles (read and cleaned), without those stored unchanged; a problem with
    the file becomes an error row."""
    from qa.store.sqlite import content_hash

    articles, errors = read_file(Path(row["file"]), Settings.model_validate(config))
    for error in errors:
        yield {**dict.fromkeys(ARTICLE_FIELDS, ""), "captions": "[]", "error": error}
    for article in articles:
        if stored.get(article.id) != content_hash(article):
            yield {**{f: getattr(article, f) or "" for f in ARTICLE_FIELDS},
                   "captions": json.dumps(article.captions), "error": ""}


class _Embed:
    """Split, chunk and embed a batch of articles with one encoder loaded per actor."""

    def __init__(self, config: dict) -> None:
        self.settings = Settings.model_validate(config)
        self.embedder = make_embedder(self.settings.embedding)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows = _rows(batch)
        articles = [_article(r) for r in rows if not r["error"]]
        prepared = {p.article.id: p for p in prepare_articles(articles, self.settings, self.embedder)}
        out: dict[str, list] = {k: [] for k in (*rows[0], "sentences", "sentence_vectors", "chunks",
                                                "chunk_vectors", "parses", "parsed_by", "model", "dim",
                                                "variant")} if rows else {}
        for row in rows:
            p = prepared.get(str(row["id"])) if not row["error"] else None
            extra = _encoded(p) if p else {"sentences": "[]", "sentence_vectors": b"", "chunks": "[]",
                                           "chunk_vectors": b"", "parses": "[]", "parsed_by": ""}
            info = {"model": self.embedder.name, "dim": self.embedder.dim,
                    "variant": getattr(self.embedder, "variant", "fp32")}
            for key, value in {**row, **extra, **info}.items():
                out[key].append(value)
        return out


def _encoded(p: PreparedArticle) -> dict[str, Any]:
    return {
        "sentences": json.dumps([[s.idx, s.start, s.end, s.is_caption] for s in p.sentences]),
        "sentence_vectors": np.asarray(p.sentence_vectors, dtype=np.float32).tobytes(),
        "chunks": json.dumps([[c.first_sentence, c.last_sentence, c.text] for c in p.chunks]),
        "chunk_vectors": np.asarray(p.chunk_vectors, dtype=np.float32).tobytes(),
        "parses": json.dumps(list(p.parses)),  # qa.parsing.encode's records, carried as they are
        "parsed_by": p.parsed_by or "",
    }


def _rows(batch: dict[str, np.ndarray]) -> list[dict]:
    keys = list(batch)
    count = len(batch[keys[0]]) if keys else 0
    return [{k: _plain(batch[k][i]) for k in keys} for i in range(count)]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _article(row: dict) -> Article:
    fields = {f: (str(row[f]) or None) for f in ARTICLE_FIELDS}
    fields["id"], fields["title"], fields["text"] = str(row["id"]), str(row["title"]), str(row["text"])
    captions = tuple((int(s), int(e)) for s, e in json.loads(row["captions"]))
    return Article(**fields, captions=captions)  # type: ignore[arg-type]


def _prepared(row: dict) -> PreparedArticle:
    article = _article(row)
    dim = int(row["dim"])
    sentences = [Sentence(article.id, i, s, e, article.text[s:e], bool(c))
                 for i, s, e, c in json.loads(row["sentences"])]
    chunks = [Chunk(article.id, f, last, text) for f, last, text in json.loads(row["chunks"])]
    sv = np.frombuffer(row["sentence_vectors"], dtype=np.float32).reshape(len(sentences), dim)
    cv = np.frombuffer(row["chunk_vectors"], dtype=np.float32).reshape(len(chunks), dim)
    return PreparedArticle(article, sentences, sv, chunks, cv, json.loads(row["parses"]),
                           str(row["parsed_by"]) or None)
