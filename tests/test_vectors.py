"""FAISS results checked against NumPy brute force."""

import numpy as np
import pytest

from qa.store.vectors import VectorIndex


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(vectors, ids, query, k, allowed=None):
    scores = vectors @ query
    order = [i for i in np.argsort(-scores) if allowed is None or ids[i] in allowed]
    return [int(ids[i]) for i in order[:k]]


@pytest.mark.parametrize("allowed_share", [None, 0.3])
def test_flat_index_matches_brute_force(allowed_share) -> None:
    vectors = unit_vectors(500, 32, seed=1)
    ids = np.arange(1000, 1500, dtype=np.int64)
    index = VectorIndex.build(ids, vectors, 32, approximate_above=10_000)
    assert not index.is_approximate
    allowed = None
    if allowed_share:
        allowed = [int(i) for i in ids[:: int(1 / allowed_share)]]
    for query in unit_vectors(20, 32, seed=2):
        got = [cid for cid, _ in index.search(query, 10, allowed)]
        assert got == brute_force(vectors, ids, query, 10, set(allowed) if allowed else None)


def test_remove_and_add_keep_ids() -> None:
    vectors = unit_vectors(50, 16, seed=3)
    ids = np.arange(50, dtype=np.int64)
    index = VectorIndex.build(ids, vectors, 16, approximate_above=10_000)
    index.remove(np.array([0, 1, 2]))
    assert index.size == 47 and set(index.ids().tolist()) == set(range(3, 50))
    assert index.search(vectors[0], 1)[0][0] != 0


def test_hnsw_above_threshold_has_high_recall(tmp_path) -> None:
    vectors = unit_vectors(3000, 32, seed=4)
    ids = np.arange(3000, dtype=np.int64)
    index = VectorIndex.build(ids, vectors, 32, approximate_above=1000)
    assert index.is_approximate
    recalls = []
    for query in unit_vectors(30, 32, seed=5):
        got = {cid for cid, _ in index.search(query, 10)}
        recalls.append(len(got & set(brute_force(vectors, ids, query, 10))) / 10)
    assert np.mean(recalls) >= 0.95
    path = tmp_path / "v.faiss"
    index.save(path)
    assert VectorIndex.load(path, 32).size == 3000


def test_empty_and_fully_filtered_searches() -> None:
    assert VectorIndex.empty(8).search(np.ones(8, dtype=np.float32), 5) == []
    index = VectorIndex.build(np.arange(3), unit_vectors(3, 8, seed=6), 8, 100)
    assert index.search(np.ones(8, dtype=np.float32), 5, allowed=[]) == []
