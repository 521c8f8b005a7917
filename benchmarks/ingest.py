"""Ingest throughput against its limit: the embedding model alone on the same sentences.

The corpus is generated, written as JSONL files of ``--part`` articles each, and indexed part by
part. Before each part the encoder alone runs on a random half of that part's sentences (given all
at once, so it batches by length as well as it can); then the pipeline (read JSONL, clean, split,
chunk, embed, write SQLite + FAISS, commit) indexes the part. Interleaving the two keeps the
comparison fair on a machine shared with other jobs: both see the same load. Model loading is
excluded from both. Target: pipeline sentences/s >= 85% of the encoder's.

    python -m benchmarks.ingest                 # 2,000 articles, the packaged MiniLM
    python -m benchmarks.ingest --quick         # 40 articles, fake embedder: a smoke run
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from pathlib import Path

from benchmarks.common import REAL_MODEL, median, print_table, quiet, scratch, settings_for, write_json
from benchmarks.corpus import generate, write_jsonl

TARGET_RATIO = 0.85


def corpus_sentences(jsonl: Path) -> list[str]:
    """The sentences the pipeline will embed, found by the pipeline's own reader and splitter."""
    from qa import read_articles
    from qa.ingest.chunking import article_sentences

    return [s.text for a in read_articles(jsonl) for s in article_sentences(a)]


def count_tokens(embedder, texts: list[str]) -> int:
    model = getattr(embedder, "_load", None)
    if model is None:  # the fake embedder: words
        return sum(len(t.split()) for t in texts)
    tokenizer = model().tokenizer
    return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"])


def time_encoder(embedder, texts: list[str]) -> float:
    started = time.perf_counter()
    embedder.encode(texts)
    return time.perf_counter() - started


def run(articles: int, model: str, part: int, sample: float, seed: int, json_out: Path | None,
        index_dir: Path | None = None) -> dict:
    quiet()
    from qa import index_paths, make_embedder

    work = scratch("qa-bench-ingest-")
    rows = generate(articles, seed)
    parts = [write_jsonl(rows[i : i + part], work / f"part{i // part:03d}.jsonl")
             for i in range(0, len(rows), part)]
    if index_dir is not None:
        shutil.rmtree(index_dir, ignore_errors=True)
    settings = settings_for(index_dir or work / "index", model)
    embedder = make_embedder(settings.embedding)
    embedder.encode(["warm up"])  # load the model outside every timing
    rng = random.Random(seed)
    totals = {"sentences": 0, "tokens": 0, "chunks": 0, "pipeline_s": 0.0,
              "probe_sentences": 0, "probe_tokens": 0, "encoder_s": 0.0}
    ratios = []
    for path in parts:
        sentences = corpus_sentences(path)
        probe = rng.sample(sentences, max(1, int(len(sentences) * sample)))
        encoder_s = time_encoder(embedder, probe)
        started = time.perf_counter()
        report = index_paths([path], settings, embedder=embedder)
        pipeline_s = time.perf_counter() - started
        assert report.sentences == len(sentences), (report.sentences, len(sentences))
        ratios.append((len(sentences) / pipeline_s) / (len(probe) / encoder_s))
        for key, value in (("sentences", len(sentences)), ("tokens", count_tokens(embedder, sentences)),
                           ("chunks", report.chunks), ("pipeline_s", pipeline_s),
                           ("probe_sentences", len(probe)), ("probe_tokens", count_tokens(embedder, probe)),
                           ("encoder_s", encoder_s)):
            totals[key] += value
    return report_figures(articles, model, totals, ratios, json_out)


def report_figures(articles: int, model: str, t: dict, ratios: list[float], json_out: Path | None) -> dict:
    pipeline_sps = t["sentences"] / t["pipeline_s"]
    encoder_sps = t["probe_sentences"] / t["encoder_s"]
    figures = {
        "articles": articles, "sentences": t["sentences"], "tokens": t["tokens"], "chunks": t["chunks"],
        "model": model, "pipeline_seconds": t["pipeline_s"],
        "pipeline_articles_per_s": articles / t["pipeline_s"],
        "pipeline_sentences_per_s": pipeline_sps,
        "pipeline_tokens_per_s": t["tokens"] / t["pipeline_s"],
        "encoder_sentences_per_s": encoder_sps,
        "encoder_tokens_per_s": t["probe_tokens"] / t["encoder_s"],
        "ratio": pipeline_sps / encoder_sps, "ratio_median_of_parts": median(ratios),
        "ratios_of_parts": [round(r, 3) for r in ratios], "target_ratio": TARGET_RATIO,
    }
    print_table(
        f"Ingest: {articles} articles, {t['sentences']} sentences, {t['tokens']} tokens, "
        f"{t['chunks']} chunks ({model})",
        [["pipeline (read..commit)", figures["pipeline_articles_per_s"], pipeline_sps,
          figures["pipeline_tokens_per_s"], t["pipeline_s"]],
         ["encoder alone", "", encoder_sps, figures["encoder_tokens_per_s"], t["encoder_s"]]],
        ["", "articles/s", "sentences/s", "tokens/s", "seconds"],
    )
    verdict = "meets" if figures["ratio_median_of_parts"] >= TARGET_RATIO else "MISSES"
    print(f"\npipeline / encoder: {figures['ratio']:.1%} overall, {figures['ratio_median_of_parts']:.1%} "
          f"median of {len(ratios)} interleaved parts (target >= {TARGET_RATIO:.0%}: {verdict})")
    write_json(json_out, figures)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--model", default=REAL_MODEL, help="embedding model (fake-hash for a smoke run)")
    parser.add_argument("--part", type=int, default=250, help="articles per interleaved part")
    parser.add_argument("--sample", type=float, default=0.5, help="share of each part the encoder runs on")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="40 articles: a smoke run")
    parser.add_argument("--index-dir", type=Path, default=None,
                        help="keep the index here (replaced), e.g. for benchmarks.query_latency")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.articles, args.part = min(args.articles, 40), min(args.part, 20)
    run(args.articles, args.model, args.part, args.sample, args.seed, args.json, args.index_dir)


if __name__ == "__main__":
    main()
