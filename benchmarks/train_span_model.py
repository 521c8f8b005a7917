"""Train the neural span scorer (``qa/answer/span_model.py``): LoRA adapters on the packaged
MiniLM plus a start/end head, on XQuAD dev training rows only (rows i with i % 3 != 0 of
xquad_en_dev.jsonl, CC BY-SA 4.0: the rows train_reader.py trains on), CPU only.

    D=benchmarks/data/xquad_en_dev.jsonl
    C=/tmp/qa-reader-dev-neural               # reader_dev.py's evidence cache
    # 0. the evidence of the training rows and of the held-out slice (cached by reader_dev.py)
    .venv/bin/python benchmarks/reader_dev.py $D --exclude-every 3 --cache $C
    .venv/bin/python benchmarks/reader_dev.py $D --every 3 --limit 300 --cache $C
    # 1. three cross-fitting models (each on 2 of 3 folds of the training rows) and the shipped
    #    one (all training rows); prints each run's time and the held-out slice's span F1
    .venv/bin/python benchmarks/train_span_model.py $D --cache $C --folds-dir $C/span-folds \\
        --out qa/answer/span_weights.npz
    # 2. the ranker's training features with out-of-fold neural features, then train_reader.py's
    #    steps as its docstring gives them, each reader_dev.py run on the training rows with
    #    --span-folds $C/span-folds (the held-out slice uses the shipped model)

A training example is the question with one of the sentences the reader reads for it (its top 4
evidence sentences, plus the sentence holding the answer if retrieval ranked it lower), as
"question [SEP] sentence"; its target is the answer's first and last word piece, or [CLS] when
the sentence does not hold the answer (SQuAD 2.0 style), so the logits compare across sentences.
A row's fold is (i // 3) % 3, i its position in the file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from qa import load_settings
from qa.answer import span_model as sm
from qa.answer.extractive import ExtractiveAnswerer
from qa.eval import metrics as m
from qa.question import analyze

FOLDS = 3


def fold_of(i: int) -> int:
    """The cross-fitting fold of training row i (its position in the dev file)."""
    return (i // 3) % FOLDS


class LoRALinear(torch.nn.Module):
    """A frozen linear layer plus a trainable low-rank update: W + (alpha / r) B A."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.A = torch.nn.Parameter(torch.randn(rank, base.in_features) / base.in_features**0.5)
        self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * (x @ self.A.T @ self.B.T)


def add_adapters(encoder, rank: int, alpha: float, frozen: int) -> dict[str, LoRALinear]:
    """Adapters on the target layers of BERT layers ``frozen`` and up; everything else frozen."""
    for p in encoder.parameters():
        p.requires_grad_(False)
    adapters = {}
    for name, module in list(encoder.named_modules()):
        if (any(name.endswith(t) for t in sm.TARGETS) and isinstance(module, torch.nn.Linear)
                and int(name.split(".")[2]) >= frozen):
            parent_name, _, child = name.rpartition(".")
            lora = LoRALinear(module, rank, alpha)
            setattr(encoder.get_submodule(parent_name), child, lora)
            adapters[name] = lora
    return adapters


def examples(rows: list[tuple[int, dict, tuple]], reader: ExtractiveAnswerer,
             negatives: int) -> list[dict]:
    """(question, sentence, answer's character span in the sentence or None): the sentences
    read that hold the answer (or the one that does, ranked lower), and up to ``negatives`` of
    the best-ranked sentences read that do not."""
    out = []
    for _, row, cands in rows:
        asked = analyze(row["question"])
        read = list(reader.sentences_to_read(asked, cands))
        golds = [(s, s + len(a)) for a, s in zip(row["answers"], row["answer_starts"], strict=True)]
        holding = [c for c in cands if c.article.id == row["article_id"] and c not in read
                   and any(c.sentence.start <= a and b <= c.sentence.end for a, b in golds)]
        negs = 0
        for c in read + holding[:1]:
            span = None
            if c.article.id == row["article_id"]:
                for a, b in golds:
                    if c.sentence.start <= a and b <= c.sentence.end:
                        span = (a - c.sentence.start, b - c.sentence.start)
                        break
            if span is None:
                negs += 1
                if negs > negatives:
                    continue
            out.append({"question": asked.text, "sentence": c.sentence.text, "span": span})
    return out


def targets(ex: dict, in_sentence: np.ndarray, offsets: np.ndarray) -> tuple[int, int]:
    if ex["span"] is None:
        return 0, 0
    a, b = ex["span"]
    idx = [j for j in range(len(offsets)) if in_sentence[j] and offsets[j][0] < b and offsets[j][1] > a]
    return (idx[0], idx[-1]) if idx else (0, 0)  # cut off by truncation: no answer visible


def lower_states(tokenizer, encoder, exs: list[dict], frozen: int, batch: int = 32) -> list[tuple]:
    """The frozen lower layers' output per example, computed once: (states, mask, start, end)."""
    out = []
    with torch.inference_mode():
        for k in range(0, len(exs), batch):
            encs = [sm.encode_pairs(tokenizer, ex["question"], [ex["sentence"]]) for ex in exs[k:k + batch]]
            width = max(e[0]["input_ids"].shape[1] for e in encs)
            ids = torch.zeros(len(encs), width, dtype=torch.long)
            mask, types = torch.zeros_like(ids), torch.zeros_like(ids)
            for i, (enc, _, _) in enumerate(encs):
                n = enc["input_ids"].shape[1]
                ids[i, :n], mask[i, :n] = enc["input_ids"][0], enc["attention_mask"][0]
                types[i, :n] = enc["token_type_ids"][0]
            states = encoder(input_ids=ids, attention_mask=mask, token_type_ids=types,
                             output_hidden_states=True).hidden_states[frozen]
            for i, (enc, in_s, offs) in enumerate(encs):
                n = enc["input_ids"].shape[1]
                out.append((states[i, :n].clone(), mask[i, :n].clone(),
                            *targets(exs[k + i], in_s[0], offs[0])))
    return out


def train(exs: list[dict], epochs: int, rank: int, alpha: float, lr: float, batch: int,
          frozen: int, seed: int = 0):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tokenizer, encoder, head = sm.build()
    encoder.train(False)
    t0 = time.perf_counter()
    cached = lower_states(tokenizer, encoder, exs, frozen)
    print(f"  lower {frozen} layers computed in {time.perf_counter() - t0:.0f} s", flush=True)
    adapters = add_adapters(encoder, rank, alpha, frozen)
    params = [p for a in adapters.values() for p in (a.A, a.B)] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = epochs * ((len(exs) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.1 * steps))
                                              * max(0.0, 1 - s / steps))
    upper = encoder.encoder.layer[frozen:]
    upper.train()
    for epoch in range(epochs):
        order = rng.permutation(len(exs))
        total = 0.0
        for k in range(0, len(order), batch):
            loss = batch_loss(upper, head, [cached[i] for i in order[k:k + batch]])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(order[k:k + batch])
        print(f"  epoch {epoch + 1}: loss {total / len(exs):.3f}", flush=True)
    return adapters, head, {"rank": rank, "alpha": alpha, "adapted_layers": f"{frozen}-"}


def batch_loss(upper, head, chunk: list[tuple]) -> torch.Tensor:
    width = max(len(c[1]) for c in chunk)
    h = torch.zeros(len(chunk), width, chunk[0][0].shape[-1])
    mask = torch.zeros(len(chunk), width)
    for i, (states, m_, _, _) in enumerate(chunk):
        h[i, :len(m_)], mask[i, :len(m_)] = states, m_.float()
    additive = ((1.0 - mask) * -1e4)[:, None, None, :]
    for layer in upper:
        h = layer(h, attention_mask=additive)
        h = h[0] if isinstance(h, tuple) else h
    logits = head(h).masked_fill(mask.unsqueeze(-1) == 0, -1e4)
    g = torch.tensor([(c[2], c[3]) for c in chunk])
    losses = [torch.nn.functional.cross_entropy(logits[..., j], g[:, j]) for j in (0, 1)]
    return (losses[0] + losses[1]) / 2


def save(path: Path, adapters, head, meta: dict) -> None:
    arrays = {}
    for name, a in adapters.items():
        arrays[f"{name}.A"] = a.A.detach().numpy().astype(np.float16)
        arrays[f"{name}.B"] = a.B.detach().numpy().astype(np.float16)
    arrays["head.weight"] = head.weight.detach().numpy().astype(np.float32)
    arrays["head.bias"] = head.bias.detach().numpy().astype(np.float32)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


def span_f1(model: sm.SpanModel, rows, reader: ExtractiveAnswerer, max_len: int = 30) -> float:
    """Mean F1 of the model's own best span over the sentences the reader reads (a diagnostic)."""
    scores = []
    for _, row, cands in rows:
        asked = analyze(row["question"])
        read = [c.sentence.text for c in reader.sentences_to_read(asked, cands)]
        best, text = -np.inf, ""
        for s, lg in zip(read, model(asked.text, read), strict=True):
            for i in range(len(lg.start)):
                j = i + int(np.argmax(lg.end[i:i + max_len]))
                if lg.start[i] + lg.end[j] > best:
                    best, text = lg.start[i] + lg.end[j], s[lg.offsets[i][0]:lg.offsets[j][1]]
        scores.append(m.f1(text, row["answers"]))
    return 100 * float(np.mean(scores))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", type=Path)
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--folds-dir", type=Path, help="write the cross-fitting models here")
    p.add_argument("--out", type=Path, help="the model trained on all training rows")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--alpha", type=float, default=32.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frozen", type=int, default=3, help="lower BERT layers left as they are "
                   "(their output is computed once): adapters go on the layers above")
    p.add_argument("--negatives", type=int, default=1,
                   help="sentences read without the answer kept per question (target [CLS])")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    lines = [json.loads(x) for x in args.dataset.read_text(encoding="utf-8").splitlines() if x]
    index = {r["question_id"]: i for i, r in enumerate(lines)}
    stem = args.dataset.stem
    train_ev = pickle.loads((args.cache / f"{stem}-1-0-None-3.pkl").read_bytes())
    held_ev = pickle.loads((args.cache / f"{stem}-3-0-300-None.pkl").read_bytes())
    train_rows = [(index[r["question_id"]], r, c) for r, c in train_ev]
    held_rows = [(index[r["question_id"]], r, c) for r, c in held_ev]
    assert all(i % 3 != 0 for i, _, _ in train_rows) and all(i % 3 == 0 for i, _, _ in held_rows)
    reader = ExtractiveAnswerer(load_settings())
    runs = [(f"fold{k}", [r for r in train_rows if fold_of(r[0]) != k]) for k in range(FOLDS)] \
        if args.folds_dir else []
    runs += [("all", train_rows)] if args.out else []
    for name, rows in runs:
        exs = examples(rows, reader, args.negatives)
        t0 = time.perf_counter()
        print(f"{name}: {len(rows)} questions, {len(exs)} examples "
              f"({sum(e['span'] is not None for e in exs)} holding the answer)", flush=True)
        adapters, head, meta = train(exs, args.epochs, args.rank, args.alpha, args.lr, args.batch,
                                     args.frozen)
        print(f"{name}: trained in {time.perf_counter() - t0:.0f} s", flush=True)
        meta.update({
            "trained_on": "XQuAD English dev questions (xquad_en_dev.jsonl, CC BY-SA 4.0): rows whose "
                          "position i has i % 3 != 0" + ("" if name == "all" else
                                                         f" and (i // 3) % 3 != {name[-1]}"),
            "questions": len(rows), "examples": len(exs), "epochs": args.epochs, "lr": args.lr,
            "batch": args.batch, "max_tokens": sm.MAX_TOKENS, "base": "all-MiniLM-L6-v2 (packaged)",
            "script": "benchmarks/train_span_model.py", "date": dt.date.today().isoformat()})
        path = args.out if name == "all" else args.folds_dir / f"{name}.npz"
        save(path, adapters, head, meta)
        if name == "all":
            f1 = span_f1(sm.SpanModel(path), held_rows, reader)
            print(f"held-out slice: the span model's own best span F1 {f1:.1f}")
        else:
            k = int(name[-1])
            f1 = span_f1(sm.SpanModel(path), [r for r in train_rows if fold_of(r[0]) == k], reader)
            print(f"{name}: out-of-fold span F1 {f1:.1f}", flush=True)


if __name__ == "__main__":
    main()
