"""The encoder variants side by side: speed, fidelity to fp32, retrieval recall.

Variants: ``fp32`` and ``bf16`` are the product's (``embedding.variant``), run through qa's own
embedder; ``int8``, ``onnx`` and ``onnx-int8`` are measured for comparison
(``benchmarks/encoder_variants.py``; the ONNX ones need the ``bench`` extra, else skipped). With
``--sweep``, the chosen variant (``--best``) also runs at other batch sizes, and in batches of
text order instead of length order.

- Text: the sentences of the seed article and of the XQuAD sample's articles, split by qa.
- Speed: every variant encodes all those sentences in one call (as the indexer does with a
  slice), in turn, for ``--repeats`` rounds, so that all see the same load on a shared machine;
  the figure is the median. CPU seconds (all threads) are reported beside wall time: on a busy
  machine they move less.
- Fidelity: the cosine of each variant's vector to the fp32 vector of the same sentence: min and
  median over all sentences. Bound: min >= 0.99.
- Recall: ``qa eval``'s retrieval recall@5 (``retrieval_recall_at_k``, extractive mode) on the
  seed eval set and the XQuAD sample, the variant encoding both articles and questions. Bound:
  within one point (0.01) of fp32.

    python -m benchmarks.encoder                 # all variants, 3 rounds, both eval sets
    python -m benchmarks.encoder --quick         # fp32 and bf16 on 48 sentences, the seed eval set
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from benchmarks.common import (
    REAL_MODEL,
    ROOT,
    SEED_EVAL,
    XQUAD,
    median,
    print_table,
    quiet,
    read_jsonl,
    scratch,
    write_json,
)

VARIANTS = ("fp32", "bf16", "int8", "onnx", "onnx-int8")
MIN_COSINE, RECALL_POINTS = 0.99, 0.01


def real_sentences(limit: int | None) -> list[str]:
    """Sentences of the seed article(s) and the XQuAD sample's distinct articles, as qa splits them."""
    from qa import read_articles
    from qa.ingest.chunking import article_sentences
    from qa.ingest.sentences import split_sentences

    texts = [s.text for p in sorted((ROOT / "seeds").glob("*.txt")) for a in read_articles(p)
             for s in article_sentences(a)]
    articles = {row["article_id"]: row["article_text"] for row in read_jsonl(XQUAD)}
    texts += [text[a:b] for text in articles.values() for a, b in split_sentences(text)]
    if limit is not None and limit < len(texts):
        step = len(texts) / limit
        texts = [texts[int(i * step)] for i in range(limit)]
    return texts


def embedders(names: list[str], work: Path) -> tuple[dict, list[str]]:
    """Each variant's embedder (warmed up), and notes on those that could not run here."""
    import torch

    from benchmarks import encoder_variants as other
    from qa import make_embedder
    from qa.config import EmbeddingSettings

    found: dict = {}
    notes: list[str] = []
    for name in names:
        if name in ("fp32", "bf16"):
            found[name] = make_embedder(EmbeddingSettings(model=REAL_MODEL, variant=name))
        elif name == "int8":
            found[name] = other.torch_int8(REAL_MODEL)
        elif name.startswith("onnx") and "onnx" not in found:
            try:
                found.update(other.onnx_variants(REAL_MODEL, work, torch.get_num_threads()))
            except ImportError as exc:
                notes.append(f"onnx variants skipped ({exc.name} missing): pip install -e '.[bench]'")
    found = {n: e for n, e in found.items() if n in names}
    for embedder in found.values():
        embedder.encode(["warm up", "a second, longer sentence to warm up with"])
    return found, notes


def sweep(best: str, batches: list[int]) -> dict:
    """The chosen variant at other batch sizes, and in batches of 64 taken in text order."""
    from benchmarks.encoder_variants import FunctionEmbedder
    from qa import make_embedder
    from qa.config import EmbeddingSettings

    found: dict = {f"{best}, batch {b}": make_embedder(EmbeddingSettings(model=REAL_MODEL, variant=best,
                                                                        batch_size=b)) for b in batches}
    plain = make_embedder(EmbeddingSettings(model=REAL_MODEL, variant=best))

    def text_order(texts: list[str]) -> np.ndarray:  # one call per batch: no sorting across batches
        shuffled = list(range(len(texts)))
        random.Random(0).shuffle(shuffled)
        out = np.zeros((len(texts), plain.dim), dtype=np.float32)
        for start in range(0, len(texts), 64):
            rows = shuffled[start : start + 64]
            out[rows] = plain.encode([texts[i] for i in rows])
        return out

    found[f"{best}, batch 64, unsorted"] = FunctionEmbedder(REAL_MODEL, best, plain.dim, text_order)
    for embedder in found.values():
        embedder.encode(["warm up"])
    return found


def time_rounds(found: dict, texts: list[str], repeats: int) -> tuple[dict, dict]:
    """Median wall and CPU seconds of each, interleaved; the vectors of the first round."""
    wall: dict[str, list[float]] = {n: [] for n in found}
    cpu: dict[str, list[float]] = {n: [] for n in found}
    vectors: dict[str, np.ndarray] = {}
    for _round in range(repeats):
        for name, embedder in found.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            out = embedder.encode(texts)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
            vectors.setdefault(name, out)
    return {n: (median(wall[n]), median(cpu[n])) for n in found}, vectors


def recall(embedder, dataset: Path, work: Path) -> float:
    """``qa eval``'s retrieval recall@5 with this embedder for articles and questions."""
    from qa import index_paths, load_settings, run_eval

    settings = load_settings(index={"dir": work / f"{dataset.stem}-{embedder.variant}"},
                             embedding={"model": REAL_MODEL}, answer={"mode": "extractive"})
    if dataset == SEED_EVAL:  # its questions are about the shipped articles, read from the index
        index_paths(sorted((ROOT / "seeds").glob("*.txt")), settings, embedder=embedder)
    result = run_eval(dataset, settings, k=5, embedder=embedder)
    return float(result.metrics["retrieval_recall_at_k"])


def count_tokens(texts: list[str]) -> int:
    from benchmarks.encoder_variants import load_model

    tokenizer = load_model(REAL_MODEL)[0].tokenizer
    return sum(min(len(ids), 256) for ids in tokenizer(texts)["input_ids"])


def run(args: argparse.Namespace) -> dict:
    quiet()
    import torch

    work = scratch("qa-bench-encoder-")
    texts = real_sentences(args.sentences)
    found, notes = embedders(args.variants, work)
    if args.sweep:
        found.update(sweep(args.best, args.sweep))
    seconds, vectors = time_rounds(found, texts, args.repeats)
    datasets = [d for d in args.recall if d.is_file()]
    recalls = {name: {d.stem: recall(e, d, work) for d in datasets}
               for name, e in found.items() if name in VARIANTS}
    figures = report(texts, count_tokens(texts), seconds, vectors, recalls, args, torch.get_num_threads())
    for note in notes:
        print(note)
    write_json(args.json, figures)
    return figures


def report(texts: list[str], tokens: int, seconds: dict, vectors: dict, recalls: dict,
           args: argparse.Namespace, threads: int) -> dict:
    reference = vectors["fp32"]
    base_wall, base_cpu = seconds["fp32"]
    rows, figures = [], {"sentences": len(texts), "tokens": tokens, "repeats": args.repeats,
                         "torch_threads": threads, "variants": {}}
    for name, (wall, cpu) in seconds.items():
        cosine = np.einsum("ij,ij->i", vectors[name], reference)
        own = recalls.get(name, {})
        item = {"sentences_per_s": len(texts) / wall, "tokens_per_s": tokens / wall,
                "sentences_per_cpu_s": len(texts) / cpu, "speedup_wall": base_wall / wall,
                "speedup_cpu": base_cpu / cpu, "cosine_min": float(cosine.min()),
                "cosine_median": float(np.median(cosine)), "recall_at_5": own}
        item["within_bounds"] = within_bounds(item, recalls.get("fp32", {}))
        figures["variants"][name] = item
        rows.append([name, item["sentences_per_s"], item["tokens_per_s"],
                     f"{item['speedup_wall']:.2f}x", f"{item['speedup_cpu']:.2f}x",
                     f"{item['cosine_min']:.4f}", f"{item['cosine_median']:.4f}",
                     *[f"{own[d.stem]:.3f}" if d.stem in own else "" for d in args.recall],
                     {True: "yes", False: "NO", None: ""}[item["within_bounds"]]])
    header = ["variant", "sentences/s", "tokens/s", "vs fp32 (wall)", "vs fp32 (CPU s)", "cos min",
              "cos median", *[f"recall@5 {label(d)}" for d in args.recall], "in bounds"]
    print_table(f"Encoder variants ({REAL_MODEL}): {len(texts)} real sentences, {tokens} tokens, "
                f"median of {args.repeats} interleaved rounds, {threads} torch threads", rows, header)
    print(f"bounds: cosine to fp32 >= {MIN_COSINE} for every sentence; recall@5 within "
          f"{RECALL_POINTS:.2f} of fp32 on each eval set")
    return figures


def within_bounds(item: dict, reference: dict) -> bool | None:
    if item["cosine_min"] < MIN_COSINE:
        return False
    own = item["recall_at_5"]
    if not own:
        return None  # a sweep row: the variant's recall is on its own row
    return all(abs(own[d] - reference[d]) <= RECALL_POINTS for d in own if d in reference)


def label(dataset: Path) -> str:
    return {SEED_EVAL: "seed eval", XQUAD: "XQuAD"}.get(dataset, dataset.stem)


def batch_list(text: str) -> list[int]:
    return [int(b) for b in text.split(",") if b]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS),
                        help=f"comma-separated, from {','.join(VARIANTS)} (fp32 is always included)")
    parser.add_argument("--sentences", type=int, default=None, help="use this many (spread evenly)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--best", default="bf16", help="the variant the sweep runs")
    parser.add_argument("--sweep", type=batch_list, default=[16, 32, 128],
                        help="batch sizes for the sweep, comma-separated ('' for none)")
    parser.add_argument("--recall", type=Path, nargs="*", default=[SEED_EVAL, XQUAD],
                        help="eval sets for recall@5 (none: skip)")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.variants, args.sentences, args.repeats, args.sweep = ["fp32", "bf16"], 48, 1, []
        args.recall = [SEED_EVAL]
    args.variants = ["fp32", *[v for v in args.variants if v != "fp32"]]
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    run(args)


if __name__ == "__main__":
    main()
