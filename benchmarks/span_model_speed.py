"""Median time of the span model per question, by variant, on the real inputs of seed questions.

    .venv/bin/python benchmarks/span_model_speed.py [--index-dir index] [--repeat 50]

The inputs are what the extractive reader gives the model: each seed question of
``ask_latency.py`` with the (up to) four evidence sentences it reads. Each variant scores every
question's sentences ``--repeat`` times (the variants alternate question by question, so that all
see the same load); prints the median ms per question, the max abs difference of its logits from
the fp32 model's, and the length distribution (question + sentence word pieces) of the pairs.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ask_latency import QUESTIONS  # noqa: E402

from qa import Assistant, index_paths, load_settings  # noqa: E402
from qa.answer import span_model as sm  # noqa: E402

POOL = ThreadPoolExecutor(max_workers=2)


def real_inputs(index_dir: Path) -> list[tuple[str, list[str]]]:
    settings = load_settings(index={"dir": index_dir})
    index_paths([Path("seeds")], settings)
    assistant = Assistant(settings)
    reader = assistant.answerer("extractive")
    out = []
    for q in QUESTIONS:
        turn = assistant.prepare(q)
        read = reader.sentences_to_read(turn.question, turn.evidence)
        if read:
            out.append((turn.question.interrogative or turn.question.text,
                        [c.sentence.text for c in read]))
    return out


def run(model, tokenizer, question, sentences, threads):
    """One batch: the head's logits (float32, numpy) of every pair, padding kept."""
    import torch

    enc, _, _ = sm.encode_pairs(tokenizer, question, sentences)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            return model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).float().numpy()
    finally:
        torch.set_num_threads(previous)


def strategy(model, tokenizer, kind: str, threads: int = 1):
    """A function question, sentences -> list of per-pair logits (unpadded length varies)."""
    def single(q, ss):
        return list(run(model, tokenizer, q, ss, threads))

    def halves(q, ss, pairs):
        jobs = [(h, POOL.submit(run, model, tokenizer, q, [ss[i] for i in h], threads))
                for h in pairs if h]
        out = [None] * len(ss)
        for h, job in jobs:
            for i, lg in zip(h, job.result(), strict=True):
                out[i] = lg
        return out

    def sorted_alternate(q, ss):  # today's: sorted by length, 1st+3rd and 2nd+4th
        order = sorted(range(len(ss)), key=lambda i: len(ss[i]))
        return halves(q, ss, [order[0::2], order[1::2]])

    def sorted_adjacent(q, ss):  # less padding: 1st+2nd and 3rd+4th
        order = sorted(range(len(ss)), key=lambda i: len(ss[i]))
        return halves(q, ss, [order[:2], order[2:]])

    def unsorted(q, ss):
        return halves(q, ss, [list(range(0, len(ss), 2)), list(range(1, len(ss), 2))])

    def one_each(q, ss):  # no padding at all: 4 batches of 1 on the 2 workers
        return halves(q, ss, [[i] for i in range(len(ss))])

    return {"single": single, "sorted_alternate": sorted_alternate,
            "sorted_adjacent": sorted_adjacent, "unsorted": unsorted, "one_each": one_each}[kind]


def eager(encoder, head):
    def forward(input_ids, attention_mask, token_type_ids):
        return head(encoder(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids).last_hidden_state)
    return forward


def models():
    """fp32, bfloat16 and int8 (dynamic quantisation of every nn.Linear) models, eager, and the
    shipped one (``SpanModel``'s: bfloat16 where native, traced)."""
    import torch

    tokenizer, encoder, head = sm.load()
    encoder, head = encoder.float(), head.float()
    bf16 = (copy.deepcopy(encoder).to(torch.bfloat16), copy.deepcopy(head).to(torch.bfloat16))
    out = {"fp32": eager(encoder, head), "bf16": eager(*bf16),
           "bf16-traced": sm.traced(tokenizer, *bf16)}
    if "x86" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "x86"  # fbgemm on VNNI; onednn measured no faster
        q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(encoder), {torch.nn.Linear},
                                                   dtype=torch.qint8)
        out["int8"] = eager(q, head)
    return tokenizer, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=Path("index"))
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    inputs = real_inputs(args.index_dir)
    tokenizer, variants = models()
    lengths = [len(tokenizer(q, s, truncation="only_second", max_length=sm.MAX_TOKENS)["input_ids"])
               for q, ss in inputs for s in ss]
    print(f"{len(inputs)} questions, {len(lengths)} pairs; pair length (pieces) min "
          f"{min(lengths)} median {statistics.median(lengths)} max {max(lengths)}; "
          f"at MAX_TOKENS {sum(n >= sm.MAX_TOKENS for n in lengths)}")
    plan = [("fp32", "sorted_alternate", 1), ("bf16", "sorted_alternate", 1),
            ("bf16", "sorted_adjacent", 1), ("bf16", "one_each", 1), ("bf16", "single", 1),
            ("bf16", "single", 2), ("bf16-traced", "sorted_alternate", 1),
            ("bf16-traced", "sorted_adjacent", 1), ("bf16-traced", "one_each", 1),
            ("bf16-traced", "single", 1), ("bf16-traced", "single", 2)]
    plan += [("int8", "sorted_alternate", 1)] if "int8" in variants else []
    reference = {q: strategy(variants["fp32"], tokenizer, "one_each")(q, ss) for q, ss in inputs}
    times: dict[tuple, list[float]] = {p: [] for p in plan}
    diffs: dict[tuple, float] = {p: 0.0 for p in plan}
    for rep in range(args.repeat):
        for q, ss in inputs:
            for p in plan:
                name, kind, threads = p
                fn = strategy(variants[name], tokenizer, kind, threads)
                t0 = time.perf_counter()
                got = fn(q, ss)
                times[p].append((time.perf_counter() - t0) * 1000)
                if rep == 0:
                    for ref, lg in zip(reference[q], got, strict=True):
                        n = min(len(ref), len(lg))  # padding differs by batch
                        mask = np.arange(n)  # compare the real pieces only
                        diffs[p] = max(diffs[p], float(np.abs(ref[mask] - lg[mask]).max()))
    print(f"{'variant':<14}{'batches':<18}{'threads':>8}{'median ms':>11}{'max |dlogit|':>14}")
    for p in plan:
        name, kind, threads = p
        print(f"{name:<14}{kind:<18}{threads:>8}{statistics.median(times[p]):>11.1f}{diffs[p]:>14.3f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
