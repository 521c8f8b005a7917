"""Encoder variants measured beside the product's (fp32, bf16) and left out of it.

- ``int8``: torch dynamic quantisation of every ``nn.Linear`` (int8 weights per output channel,
  activations quantised per batch at run time; the VNNI kernels of FBGEMM).
- ``onnx`` and ``onnx-int8``: the transformer exported in-process with ``torch.onnx`` (no model
  hub, no optimum) and run by ONNX Runtime, as exported (fp32, with ONNX Runtime's graph fusions)
  and dynamically quantised to int8 (per-channel weights). Mean pooling as the model's own.
  They need ``onnxruntime`` and ``onnx`` (the ``bench`` extra).

Each is an ``Embedder`` (name, variant, dim, encode), so ``qa``'s indexer and ``qa eval`` run them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.embeddings import normalised, packaged_model_path

BATCH = 64
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class FunctionEmbedder:
    """An Embedder around an encode function (float32 rows, normalised here)."""

    def __init__(self, name: str, variant: str, dim: int, fn: Callable[[list[str]], np.ndarray]) -> None:
        self.name, self.variant, self.dim, self._fn = name, variant, dim, fn

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalised(np.asarray(self._fn(list(texts)), dtype=np.float32))


def load_model(name: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(packaged_model_path(name) or name, device="cpu")


def torch_int8(name: str) -> FunctionEmbedder:
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    model = quantize_dynamic(copy.deepcopy(load_model(name)), {torch.nn.Linear: per_channel_dynamic_qconfig})
    dim = int(model.get_embedding_dimension())
    return FunctionEmbedder(name, "int8", dim, lambda texts: model.encode(
        texts, batch_size=BATCH, convert_to_numpy=True, show_progress_bar=False))


def onnx_variants(name: str, work: Path, threads: int) -> dict[str, FunctionEmbedder]:
    """``onnx`` and ``onnx-int8``: exported into ``work`` (a few seconds each)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = load_model(name)
    fp32 = work / "encoder.onnx"
    export(model, fp32)
    int8 = work / "encoder-int8.onnx"
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True)
    dim = int(model.get_embedding_dimension())
    return {variant: FunctionEmbedder(name, variant, dim, ort_encoder(path, model, threads))
            for variant, path in (("onnx", fp32), ("onnx-int8", int8))}


def export(model, path: Path) -> None:
    import torch

    transformer = model[0].auto_model.eval()

    class Hidden(torch.nn.Module):  # the last hidden state, from the three BERT inputs
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer  # a submodule: its weights export as initialisers

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    sample = model[0].tokenizer(["an example", "a longer example sentence"], padding=True,
                                return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in (*INPUTS, "hidden")}
    with torch.no_grad():
        torch.onnx.export(Hidden(), tuple(sample[n] for n in INPUTS), str(path), input_names=list(INPUTS),
                          output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False)


def ort_encoder(path: Path, model, threads: int) -> Callable[[list[str]], np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tokenizer, max_length = model[0].tokenizer, model.max_seq_length

    def encode(texts: list[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # as sentence-transformers
        out = np.zeros((len(texts), model.get_embedding_dimension()), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                              max_length=max_length, return_tensors="np")
            hidden = session.run(None, {n: batch[n].astype(np.int64) for n in INPUTS})[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            out[rows] = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
        return out

    return encode
