"""The FAISS vector index over chunk vectors, keyed by chunk id.

Exact inner-product search (vectors are L2-normalised, so this is cosine) up to a size threshold;
above it an HNSW graph, which answers in under 10 ms at a million vectors. Files are
written to a temporary name, fsynced and renamed, and loaded with FAISS's own reader: no pickle.

Every file's size and CRC-32 are recorded when it is written (the index keeps them in SQLite) and
checked before FAISS parses it: FAISS trusts the sizes and neighbour ids inside its files, so a
truncated or damaged file must be refused with a clear message, never handed to it. The check and
the parse read one open file descriptor, so a writer that deletes the file in between (after
committing a newer generation) cannot make a reader parse half of it.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexStateError
from qa.testhooks import pause_at

# Measured with vectors drawn like MiniLM chunk vectors (benchmarks/query_latency.py --ef-sweep),
# M=32, efConstruction=80, one query on one thread, recall@10 against exact search:
#   100k: efSearch 128 -> 0.90, 256 -> 0.96, 512 -> 0.99 (2.9 ms), 1024 -> 0.998 (5 ms)
#   1M:   efSearch 512 -> 0.923 (5.5 ms), 768 -> 0.956 (8.0 ms), 1024 -> 0.968 (9.0 ms), 1536 -> 0.98
# efConstruction=200 gains about a point at twice the build time (1M: ~20 min at 80 here). 768
# keeps recall >= 0.95 and a query under 10 ms at a million chunks.
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 768
HNSW_EF_CONSTRUCTION = 80
_READ_BLOCK = 16 << 20


@dataclass(frozen=True)
class FileStamp:
    """What a vector file must look like: its size in bytes and its CRC-32."""

    size: int
    crc32: int


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
        with _one_omp_thread(faiss):
            scores, ids = self._index.search(q, min(k, self.size), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def save(self, path: Path) -> FileStamp:
        """Write atomically (a crash leaves either no file or a complete one); return its stamp."""
        tmp = path.with_name(path.name + ".tmp")
        _faiss().write_index(self._index, str(tmp))
        pause_at("save")
        with open(tmp, "rb") as fh:
            stamp = FileStamp(os.fstat(fh.fileno()).st_size, _crc32(fh))
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return stamp

    @classmethod
    def load(cls, path: Path, dim: int, stamp: FileStamp | None = None) -> VectorIndex:
        """Read a vector file, refusing one that is not exactly the file that was written.

        A missing file raises FileNotFoundError (a reader retries: a writer replaced it); every
        other problem is an IndexStateError that names the file and the command that rebuilds it.
        """
        hint = f"rebuild it with: qa index --rebuild-vectors --index-dir {path.parent}"
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if stamp is not None and size != stamp.size:
                raise IndexStateError(
                    f"{path}: vector file is truncated or corrupt ({size} bytes, expected "
                    f"{stamp.size}); {hint}")
            if stamp is not None and _crc32(fh) != stamp.crc32:
                raise IndexStateError(f"{path}: vector file is corrupt (checksum mismatch); {hint}")
            fh.seek(0)
            faiss = _faiss()
            try:
                index = faiss.read_index(faiss.PyCallbackIOReader(fh.read, _READ_BLOCK))
            except (RuntimeError, MemoryError, ValueError):
                raise IndexStateError(f"{path}: vector file is truncated or corrupt; {hint}") from None
        if index.d != dim:
            raise IndexStateError(f"{path}: vectors have {index.d} dimensions, expected {dim}; {hint}")
        graph = faiss.downcast_index(index.index) if hasattr(index, "index") else None
        if graph is not None and hasattr(graph, "hnsw"):
            graph.hnsw.efSearch = HNSW_EF_SEARCH  # files written before a change keep theirs
        return cls(index, dim)


@contextmanager
def _one_omp_thread(faiss) -> Iterator[None]:
    """One query runs on one OpenMP thread: FAISS gains nothing from more for a single query, and
    on busy cores their barriers cost tens of milliseconds (flat search of 13k vectors, 2-core
    machine under load: p50 20-42 ms with 2 threads, 1.5 ms with one). Per OS thread, restored."""
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _crc32(fh) -> int:
    crc = 0
    while block := fh.read(_READ_BLOCK):
        crc = zlib.crc32(block, crc)
    return crc
