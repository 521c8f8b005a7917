"""The FAISS vector index over chunk vectors, keyed by chunk id.

Exact inner-product search (vectors are L2-normalised, so this is cosine) up to a size threshold;
above it an HNSW graph, which answers in about a millisecond at a million vectors. Files are
written to a temporary name, fsynced and renamed, and loaded with FAISS's own reader: no pickle.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from qa.errors import IndexStateError

HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128
HNSW_EF_CONSTRUCTION = 80


def _faiss():
    import faiss

    return faiss


class VectorIndex:
    def __init__(self, index, dim: int) -> None:
        self._index = index
        self.dim = dim

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        faiss = _faiss()
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), dim)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dim: int, approximate_above: int) -> VectorIndex:
        """A fresh index of these vectors: exact, or HNSW when there are many."""
        faiss = _faiss()
        if len(ids) > approximate_above:
            graph = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            graph.hnsw.efSearch = HNSW_EF_SEARCH
            index = faiss.IndexIDMap2(graph)
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        out = cls(index, dim)
        out.add(ids, vectors)
        return out

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def is_approximate(self) -> bool:
        return "HNSW" in type(_faiss().downcast_index(self._index.index)).__name__

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def copy(self) -> VectorIndex:
        return VectorIndex(_faiss().clone_index(self._index), self.dim)

    def ids(self) -> np.ndarray:
        return _faiss().vector_to_array(self._index.id_map).astype(np.int64)

    def search(
        self, query: np.ndarray, k: int, allowed: list[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, cosine) for one query vector, optionally among ``allowed`` ids."""
        if self.size == 0 or k <= 0 or (allowed is not None and not allowed):
            return []
        faiss = _faiss()
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params = (faiss.SearchParametersHNSW(sel=selector, efSearch=HNSW_EF_SEARCH)
                      if self.is_approximate else faiss.SearchParameters(sel=selector))
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self._index.search(q, min(k, self.size), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves either no file or a complete one."""
        tmp = path.with_name(path.name + ".tmp")
        _faiss().write_index(self._index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex:
        hint = "rebuild it with: qa index --rebuild-vectors"
        if not path.is_file():
            raise IndexStateError(f"{path}: vector file is missing; {hint}")
        try:
            index = _faiss().read_index(str(path))
        except RuntimeError:
            raise IndexStateError(f"{path}: vector file is truncated or corrupt; {hint}") from None
        if index.d != dim:
            raise IndexStateError(f"{path}: vectors have {index.d} dimensions, expected {dim}; {hint}")
        return cls(index, dim)
